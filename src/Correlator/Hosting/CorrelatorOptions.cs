using HopCapture.Engine.Correlation;

namespace HopCapture.Correlator.Hosting;

/// <summary>Configuration section "Correlator".</summary>
public sealed class CorrelatorOptions
{
    public const string SectionName = "Correlator";

    /// <summary>gRPC endpoint (cleartext HTTP/2) as ADDR:PORT; port 0 picks a free port.</summary>
    public string Listen { get; set; } = "127.0.0.1:7400";

    /// <summary>SQLite results file.</summary>
    public string Database { get; set; } = "./hopcapture.db";

    /// <summary>Node names allowed to connect; empty allows any.</summary>
    public string[] AllowedNodes { get; set; } = [];

    public EngineOptions Engine { get; set; } = new();
}
