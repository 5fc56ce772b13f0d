using HopCapture.Engine.Model;

namespace HopCapture.Engine.Correlation;

/// <summary>
/// Joins observations of one probe across points, orders the points by decreasing round trip
/// and attributes each segment's round-trip cost. Single-threaded and free of I/O: the caller
/// feeds observations with their arrival time and calls <see cref="Advance"/> to finalise.
/// </summary>
public sealed partial class CorrelationEngine
{
    public CorrelationEngine(EngineOptions options, InterfaceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        Options = options;
        Catalog = catalog;
    }

    public EngineOptions Options { get; }

    public InterfaceCatalog Catalog { get; }

    public EngineCounters Counters { get; } = new();
}
