namespace HopCapture.Engine.Loss;

/// <summary>
/// One finalised probe of a ping run as freeze detection needs it. <see cref="LostIn"/>,
/// <see cref="LostLeg"/> and <see cref="LostAfter"/> are empty for answered probes.
/// </summary>
public readonly record struct SeqOutcome(ushort Seq, long TimestampNs, bool Answered, string LostIn, string LostLeg, string LostAfter);

/// <summary>
/// A stretch during which a path carried nothing: consecutive lost probes (<see cref="Lost"/>, of
/// which <see cref="Unseen"/> no point saw at all), or a silence with no probes sent.
/// </summary>
public sealed record Freeze(
    ushort FirstSeq,
    ushort LastSeq,
    long StartNs,
    long EndNs,
    int Lost,
    int Unseen,
    string Segment,
    string Leg,
    string After,
    bool Ongoing)
{
    public long DurationNs => EndNs - StartNs;

    /// <summary>A silence: the sender sent nothing (a frozen guest), so nothing was lost.</summary>
    public bool Silence => Lost == 0;
}

/// <summary>Freezes that recur: the median gap between their starts and the largest deviation from it.</summary>
public sealed record FreezePeriod(long PeriodNs, long SpreadNs, int Freezes, double MeanLost);

/// <summary>
/// Finds freezes in one ping run (one src, dst and ICMP id), in time order, and whether they
/// recur — what the awk script of field report 000 printed as icmp_seq jumps, plus where.
/// </summary>
public static class FreezeDetector
{
    /// <summary>Fewer consecutive losses are plain loss, not a freeze.</summary>
    public const int DefaultMinLost = 3;

    /// <summary>A gap longer than this many probe intervals with no probe sent is a silence.</summary>
    public const int SilenceIntervals = 4;

    public static IReadOnlyList<Freeze> Find(ReadOnlySpan<SeqOutcome> run, int minLost = DefaultMinLost)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLost, 1);
        var freezes = new List<Freeze>();
        if (run.Length == 0)
        {
            return freezes;
        }

        var interval = Interval(run);
        var open = new OpenRun();
        for (var i = 0; i < run.Length; i++)
        {
            var probe = run[i];
            if (i > 0)
            {
                var previous = run[i - 1];
                var step = (ushort)(probe.Seq - previous.Seq);
                if (step > 1 && step < ushort.MaxValue / 2)
                {
                    // Probes no point saw at all: nothing was captured, so they vanished before the first point.
                    var unseen = step - 1;
                    var gapStart = previous.TimestampNs + (interval > 0 ? interval : (probe.TimestampNs - previous.TimestampNs) / step);
                    open.AddUnseen((ushort)(previous.Seq + 1), (ushort)(probe.Seq - 1), gapStart,
                        probe.TimestampNs - (interval > 0 ? interval : (probe.TimestampNs - previous.TimestampNs) / step), unseen);
                }
                else if (step == 1 && interval > 0 && probe.TimestampNs - previous.TimestampNs > SilenceIntervals * interval && open.Lost == 0)
                {
                    freezes.Add(new Freeze(previous.Seq, probe.Seq, previous.TimestampNs + interval, probe.TimestampNs, 0, 0,
                        "", "", "", Ongoing: false));
                }
            }

            if (probe.Answered)
            {
                open.Close(freezes, probe.TimestampNs, minLost, ongoing: false);
            }
            else
            {
                open.AddLost(probe);
            }
        }

        open.Close(freezes, open.LastNs + Math.Max(interval, 0), minLost, ongoing: true);
        return freezes;
    }

    /// <summary>
    /// Periodic when at least three freezes start at gaps within 20 % of their median; the spread
    /// is the largest deviation from it.
    /// </summary>
    public static FreezePeriod? Period(IReadOnlyList<Freeze> freezes)
    {
        ArgumentNullException.ThrowIfNull(freezes);
        if (freezes.Count < 3)
        {
            return null;
        }

        var gaps = new long[freezes.Count - 1];
        for (var i = 1; i < freezes.Count; i++)
        {
            gaps[i - 1] = freezes[i].StartNs - freezes[i - 1].StartNs;
        }

        var sorted = (long[])gaps.Clone();
        Array.Sort(sorted);
        var median = sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
        var spread = gaps.Max(g => Math.Abs(g - median));
        if (median <= 0 || spread * 5 > median)
        {
            return null;
        }

        return new FreezePeriod(median, spread, freezes.Count, freezes.Average(f => (double)f.Lost));
    }

    /// <summary>The ping interval: the median time per seq step between consecutive probes.</summary>
    public static long Interval(ReadOnlySpan<SeqOutcome> run)
    {
        if (run.Length < 2)
        {
            return 0;
        }

        var steps = new List<long>(run.Length - 1);
        for (var i = 1; i < run.Length; i++)
        {
            var step = (ushort)(run[i].Seq - run[i - 1].Seq);
            if (step is > 0 and < ushort.MaxValue / 2)
            {
                steps.Add((run[i].TimestampNs - run[i - 1].TimestampNs) / step);
            }
        }

        if (steps.Count == 0)
        {
            return 0;
        }

        steps.Sort();
        return steps[steps.Count / 2];
    }

    private sealed class OpenRun
    {
        private readonly Dictionary<(string Segment, string Leg, string After), int> _where = [];
        private ushort _firstSeq;
        private ushort _lastSeq;
        private long _startNs;

        public int Lost { get; private set; }

        public int Unseen { get; private set; }

        public long LastNs { get; private set; }

        public void AddLost(in SeqOutcome probe)
        {
            Begin(probe.Seq, probe.TimestampNs);
            Lost++;
            _lastSeq = probe.Seq;
            LastNs = probe.TimestampNs;
            var key = (probe.LostIn, probe.LostLeg, probe.LostAfter);
            _where[key] = _where.GetValueOrDefault(key) + 1;
        }

        public void AddUnseen(ushort first, ushort last, long startNs, long endNs, int count)
        {
            Begin(first, startNs);
            Lost += count;
            Unseen += count;
            _lastSeq = last;
            LastNs = endNs;
        }

        public void Close(List<Freeze> freezes, long endNs, int minLost, bool ongoing)
        {
            if (Lost >= minLost)
            {
                // Where most of them vanished; probes no point saw only decide when none was seen.
                var (segment, leg, after) = _where.Count == 0
                    ? ("unseen", "", "")
                    : _where.OrderByDescending(w => w.Value).ThenBy(w => w.Key.Segment, StringComparer.Ordinal).First().Key;
                freezes.Add(new Freeze(_firstSeq, _lastSeq, _startNs, endNs, Lost, Unseen, segment, leg, after, ongoing));
            }

            Lost = 0;
            Unseen = 0;
            _where.Clear();
        }

        private void Begin(ushort seq, long startNs)
        {
            if (Lost == 0)
            {
                _firstSeq = seq;
                _startNs = startNs;
            }
        }
    }
}
