namespace HopCapture.Engine.Correlation;

/// <summary>Tuning of the correlation engine. Defaults are what the correlator ships with.</summary>
public sealed class EngineOptions
{
    /// <summary>
    /// In-flight probes kept at most. The engine itself evicts the oldest past it (dropped and
    /// counted); the correlator never lets it get there: it leaves batches queued, holding ingest back.
    /// At ~725 bytes a probe the default bounds the engine near 46 MB. At a million observations a
    /// second a few thousand probes are in flight once paths are known; the limit holds in a new
    /// path's first seconds, while complete probes settle (at 200,000 that start-up transient took
    /// the correlator's memory past 800 MB, issue 12).
    /// </summary>
    public int MaxInFlight { get; set; } = 64_000;

    /// <summary>A probe not complete this long after its first observation is finalised as it is (lost).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A complete probe (reply seen wherever the request was) waits this long after its last
    /// observation before it is finalised, so a slower agent's upload still joins it.
    /// </summary>
    public TimeSpan Settle { get; set; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Segment costs below this are capture timestamp noise and are not attributed.</summary>
    public TimeSpan NoiseFloor { get; set; } = TimeSpan.FromMicroseconds(20);
}

/// <summary>Monotonic counters; read from any thread.</summary>
public sealed class EngineCounters
{
    internal long _observations;
    internal long _finalized;
    internal long _evicted;
    internal long _late;
    internal long _duplicates;
    internal long _unknownInterface;

    public long Observations => Volatile.Read(ref _observations);

    public long Finalized => Volatile.Read(ref _finalized);

    /// <summary>In-flight probes dropped because the cap was reached.</summary>
    public long Evicted => Volatile.Read(ref _evicted);

    /// <summary>Observations for a probe that had already been finalised.</summary>
    public long Late => Volatile.Read(ref _late);

    /// <summary>A second copy of a request or reply at the same point.</summary>
    public long Duplicates => Volatile.Read(ref _duplicates);

    public long UnknownInterface => Volatile.Read(ref _unknownInterface);
}
