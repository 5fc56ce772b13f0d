namespace HopCapture.Correlator.Storage;

/// <summary>What one retention pass did and left.</summary>
public sealed record RetentionPass(int DroppedByAge, int DroppedBySize, int Partitions, long UsedBytes)
{
    /// <summary>Rollup rows deleted for being older than Rollups.</summary>
    public int RollupRowsDropped { get; init; }
}

/// <summary>
/// Configuration section "Correlator:Retention": how long raw probes are kept, in days of
/// arrival time, and how much disk they may take. Whole day partitions are dropped, oldest first,
/// never the one being written. Sizing of the defaults: a stored probe takes ~1.1 KB, so 10 GiB
/// hold ~9.7 million probes, a week at ~16 probes a second (sixteen paths pinged once a second);
/// a busier site raises <see cref="MaxBytes"/> or accepts a shorter history.
/// </summary>
public sealed class RetentionOptions
{
    public const string SectionName = "Correlator:Retention";

    /// <summary>Raw probes older than this (by arrival) are dropped with their day; "00:00:00" keeps them forever.</summary>
    public TimeSpan Raw { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Most bytes the database may use before the oldest days are dropped (0 = no size limit).</summary>
    public long MaxBytes { get; set; } = 10L << 30;

    /// <summary>Rollups (per path, verdict and minute or hour) older than this are deleted; "00:00:00" keeps them forever.</summary>
    public TimeSpan Rollups { get; set; } = TimeSpan.FromDays(396);

    /// <summary>
    /// Most raw probes a window is answered from (by the hour rollups' count); a window holding
    /// more is answered from rollups, which cost rows per path and hour instead of per probe. The
    /// default reads in about 50 ms here; raising it keeps exact percentiles over longer windows at
    /// the cost of query time, lowering it keeps busy windows fast.
    /// </summary>
    public long RawQueryProbes { get; set; } = WindowPlan.DefaultRawProbeLimit;

    /// <summary>How often the store writer checks the limits.</summary>
    public TimeSpan CheckEvery { get; set; } = TimeSpan.FromMinutes(1);
}
