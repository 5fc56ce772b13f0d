namespace HopCapture.Correlator.Storage;

/// <summary>
/// How a window is answered: from raw probes when they cover it and are few enough to read at
/// once, else from rollups — hour rows for the whole hours inside the window, minute rows for its
/// ragged ends — so any window costs rows per path and hour, not per probe. The answer names the
/// resolution it used ("raw", "1m", "1h", "1h+1m").
/// </summary>
public sealed record WindowPlan(bool Raw, IReadOnlyList<(RollupWidth Width, long SinceNs, long UntilNs)> Pieces)
{
    /// <summary>Most probes a raw answer reads by default (about 50 ms of summarising); beyond, rollups answer (Correlator:Retention:RawQueryProbes).</summary>
    public const long DefaultRawProbeLimit = 100_000;

    private const long MinuteNs = 60_000_000_000;
    private const long HourNs = 60 * MinuteNs;

    public string Resolution => Raw ? "raw" : string.Join('+', Pieces.Select(static p => p.Width).Distinct().OrderByDescending(static w => w).Select(static w => w == RollupWidth.Hour ? "1h" : "1m"));

    /// <summary>The plan for [sinceNs, untilNs] (0 = open) at <paramref name="nowNs"/>, raw for at most <paramref name="rawProbeLimit"/> probes.</summary>
    public static WindowPlan For(IStoreReadSession session, long sinceNs, long untilNs, long nowNs, long rawProbeLimit = DefaultRawProbeLimit)
    {
        ArgumentNullException.ThrowIfNull(session);
        var rawSince = session.RawSinceNs;
        var rollupsSince = session.RollupsSinceNs;
        // Raw covers the window when it starts inside raw retention, or when no rollup is older
        // than the raw probes (a minute's slack: the rollup minute of the oldest probe).
        var rawCovers = rawSince != 0 && (sinceNs >= rawSince || rollupsSince == 0 || rollupsSince >= rawSince - MinuteNs);
        if (rawCovers && session.RolledUpProbes(RollupWidth.Hour, Floor(Math.Max(sinceNs, rawSince), HourNs), untilNs) <= rawProbeLimit)
        {
            return new WindowPlan(true, []);
        }

        var end = untilNs != 0 ? untilNs : Math.Max(nowNs, sinceNs);
        var firstHour = sinceNs == 0 ? 0 : Ceiling(sinceNs, HourNs);
        var endHour = Floor(end + 1, HourNs);
        var pieces = new List<(RollupWidth, long, long)>();
        if (firstHour < endHour)
        {
            if (sinceNs != 0 && sinceNs < firstHour)
            {
                pieces.Add((RollupWidth.Minute, Floor(sinceNs, MinuteNs), firstHour - 1));
            }

            pieces.Add((RollupWidth.Hour, firstHour, endHour - 1));
            if (endHour <= end)
            {
                pieces.Add((RollupWidth.Minute, endHour, end));
            }
        }
        else
        {
            pieces.Add((RollupWidth.Minute, Floor(sinceNs, MinuteNs), end));
        }

        return new WindowPlan(false, pieces);
    }

    /// <summary>Every rollup row of the plan's pieces, for <paramref name="src"/> and <paramref name="dst"/> (null = any), in any order.</summary>
    public IEnumerable<RollupRow> Rows(IStoreReadSession session, string? src, string? dst)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Pieces.SelectMany(p => session.Rollups(p.Width, src, dst, p.SinceNs, p.UntilNs));
    }

    private static long Floor(long ns, long unit) => ns - (((ns % unit) + unit) % unit);

    private static long Ceiling(long ns, long unit) => Floor(ns + unit - 1, unit);
}
