namespace HopCapture.Analysis.Loss;

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
/// A gap in the answered icmp_seqs of a run, as the awk script of field report 000 printed it
/// (<c>11 → 54 (42 lost)</c>): the last seq answered before it (0 = none), the next one answered
/// after it (past the last sent = none until the end) and how many are missing.
/// </summary>
public readonly record struct SeqJump(long FromSeq, long ToSeq, long Missing);

/// <summary>
/// The one analysis of a ping run (one src, dst and ICMP id): its icmp_seq jumps, its freezes
/// (runs of lost probes and silences, in time order, with the place most of them vanished) and
/// whether they recur. <c>capture freezes</c>, <c>capture analyze</c>, the alert <c>freezes</c>
/// statistic and <c>capture trace</c> all call it, so the same pings read the same everywhere.
/// </summary>
public static class PingRun
{
    /// <summary>Fewer consecutive losses are plain loss, not a freeze.</summary>
    public const int DefaultMinLost = 3;

    /// <summary>A gap longer than this many probe intervals with no probe sent is a silence.</summary>
    public const int SilenceIntervals = 4;

    /// <summary>
    /// The freezes of a run in (time, seq) order (<see cref="Order"/>): runs of at least
    /// <paramref name="minLost"/> consecutive lost probes, counting seqs no point saw, and silences.
    /// </summary>
    public static IReadOnlyList<Freeze> Freezes(ReadOnlySpan<SeqOutcome> run, int minLost = DefaultMinLost)
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

    /// <summary>
    /// The order detection needs: time, then seq; the outcome and place break the remaining ties,
    /// by value, so the same probes give the same freezes however they arrive.
    /// </summary>
    public static int Order(SeqOutcome a, SeqOutcome b)
    {
        var byTime = a.TimestampNs.CompareTo(b.TimestampNs);
        if (byTime != 0)
        {
            return byTime;
        }

        var bySeq = a.Seq.CompareTo(b.Seq);
        if (bySeq != 0)
        {
            return bySeq;
        }

        if (a.Answered != b.Answered)
        {
            return a.Answered ? -1 : 1;
        }

        var bySegment = string.CompareOrdinal(a.LostIn, b.LostIn);
        if (bySegment != 0)
        {
            return bySegment;
        }

        var byLeg = string.CompareOrdinal(a.LostLeg, b.LostLeg);
        return byLeg != 0 ? byLeg : string.CompareOrdinal(a.LostAfter, b.LostAfter);
    }

    /// <summary>
    /// Every jump in the answered seqs (ascending, numbered 1..<paramref name="sent"/>, already
    /// unwrapped past 65,535 by <see cref="SeqUnwrapper"/>), and a tail loss as a jump to
    /// <paramref name="sent"/> + 1.
    /// </summary>
    public static List<SeqJump> Jumps(IEnumerable<long> answeredSeqs, long sent)
    {
        ArgumentNullException.ThrowIfNull(answeredSeqs);
        var jumps = new List<SeqJump>();
        long previous = 0;
        foreach (var seq in answeredSeqs)
        {
            if (seq != previous + 1)
            {
                jumps.Add(new SeqJump(previous, seq, seq - previous - 1));
            }

            previous = seq;
        }

        if (previous < sent)
        {
            jumps.Add(new SeqJump(previous, sent + 1, sent - previous));
        }

        return jumps;
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
