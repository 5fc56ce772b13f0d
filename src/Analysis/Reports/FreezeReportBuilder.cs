using System.Runtime.InteropServices;
using HopCapture.Analysis.Loss;
using HopCapture.Analysis.Probes;

namespace HopCapture.Analysis.Reports;

/// <summary>A freeze of the ping run (<paramref name="Src"/>, <paramref name="Dst"/>, <paramref name="IcmpId"/>).</summary>
public sealed record RunFreeze(string Src, string Dst, uint IcmpId, Freeze Freeze);

/// <summary>
/// A ping run whose lost-probe freezes recur (silences not counted): how many, whether they are
/// periodic (<see cref="PingRun.Period"/>; 0 period and spread when not), the ping interval and
/// the segment most of them vanished in.
/// </summary>
public sealed record FreezeSeriesStats(
    string Src,
    string Dst,
    uint IcmpId,
    int Freezes,
    bool Periodic,
    long PeriodNs,
    long SpreadNs,
    double MeanLost,
    long IntervalNs,
    string Segment);

/// <summary>Freezes and series by src, dst (ordinal) then ICMP id, each run's freezes in time order.</summary>
public sealed record FreezeReport(IReadOnlyList<RunFreeze> Freezes, IReadOnlyList<FreezeSeriesStats> Series);

/// <summary>
/// Freezes per ping run (src, dst, ICMP id) and the runs whose freezes recur: a
/// <see cref="FreezeReport"/> from <see cref="PingRun"/>. The one copy of this
/// aggregation: the correlator feeds it rows from SQLite, <c>capture analyze</c> feeds it probes.
/// </summary>
/// <remarks>
/// Probes may come in any order: each run is sorted by (time, seq) — the correlator's ORDER BY —
/// before detection, so lost probes that finalise late change nothing. Detection needs the whole
/// run (the ping interval is the median step over all of it, and it decides silences and the ends
/// of unseen gaps), so a run cannot be flushed early without changing results: each probe is kept
/// as a 16-byte <see cref="Compact"/> (time, seq, answered, an index into one interned table of
/// places) until <see cref="Flush"/> or <see cref="Build"/>. No record or string is kept per probe.
/// </remarks>
public sealed class FreezeReportBuilder
{
    private readonly int _minLost;
    private readonly Dictionary<RunKey, List<Compact>> _runs = [];
    private readonly Dictionary<(string Segment, string Leg, string After), int> _placeIndex = [];
    private readonly List<(string Segment, string Leg, string After)> _places = [];
    private readonly List<RunFreeze> _freezes = [];
    private readonly List<FreezeSeriesStats> _series = [];
    private Comparison<Compact>? _order;

    public FreezeReportBuilder(int minLost = PingRun.DefaultMinLost)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(minLost, 1);
        _minLost = minLost;
    }

    /// <summary>Probes held and not yet detected on; what the builder's memory follows.</summary>
    public long Held { get; private set; }

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        Add(probe.Src, probe.Dst, probe.IcmpId, probe.IcmpSeq, probe.FirstTsNs, probe.Answered, probe.LostInName, probe.LostLegName, probe.LostAfterName);
    }

    /// <summary>One probe; <paramref name="lostIn"/>, <paramref name="lostLeg"/> and <paramref name="lostAfter"/> only count when it was not answered.</summary>
    public void Add(string src, string dst, uint icmpId, ushort seq, long timestampNs, bool answered, string lostIn, string lostLeg, string lostAfter)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentNullException.ThrowIfNull(dst);
        var key = new RunKey(src, dst, icmpId);
        if (!_runs.TryGetValue(key, out var run))
        {
            run = [];
            _runs.Add(key, run);
        }

        run.Add(new Compact(timestampNs, answered ? Compact.Answered : Place(lostIn ?? "", lostLeg ?? "", lostAfter ?? ""), seq));
        Held++;
    }

    /// <summary>
    /// Detects on every run held so far and forgets their probes. Only for a caller that knows
    /// those runs are complete (the correlator's rows come ordered by run): a run's probes must not
    /// be split across two flushes.
    /// </summary>
    public void Flush()
    {
        foreach (var (key, run) in _runs.OrderBy(r => r.Key, RunKey.Order))
        {
            Detect(key, run);
        }

        _runs.Clear();
        Held = 0;
    }

    /// <summary>Everything detected: freezes and series by src, dst (ordinal) then ICMP id, each run's freezes in time order.</summary>
    public FreezeReport Build()
    {
        Flush();
        return new FreezeReport(_freezes.ToArray(), _series.ToArray());
    }

    /// <summary>
    /// The correlator's ORDER BY first_ts_ns, icmp_seq; the outcome and place break the ties SQL
    /// leaves open, by value, so the same probes give the same order however they arrive.
    /// </summary>
    private int Order(Compact a, Compact b)
    {
        var byTime = a.TimestampNs.CompareTo(b.TimestampNs);
        if (byTime != 0)
        {
            return byTime;
        }

        var bySeq = a.Seq.CompareTo(b.Seq);
        if (bySeq != 0 || a.Place == b.Place)
        {
            return bySeq;
        }

        if (a.Place == Compact.Answered || b.Place == Compact.Answered)
        {
            return a.Place == Compact.Answered ? -1 : 1;
        }

        var (x, y) = (_places[a.Place], _places[b.Place]);
        var bySegment = string.CompareOrdinal(x.Segment, y.Segment);
        if (bySegment != 0)
        {
            return bySegment;
        }

        var byLeg = string.CompareOrdinal(x.Leg, y.Leg);
        return byLeg != 0 ? byLeg : string.CompareOrdinal(x.After, y.After);
    }

    private int Place(string segment, string leg, string after)
    {
        if (!_placeIndex.TryGetValue((segment, leg, after), out var index))
        {
            index = _places.Count;
            _places.Add((segment, leg, after));
            _placeIndex.Add((segment, leg, after), index);
        }

        return index;
    }

    private void Detect(RunKey key, List<Compact> run)
    {
        if (run.Count == 0)
        {
            return;
        }

        var compact = CollectionsMarshal.AsSpan(run);
        compact.Sort(_order ??= Order);
        var outcomes = new SeqOutcome[compact.Length];
        for (var i = 0; i < compact.Length; i++)
        {
            var probe = compact[i];
            var (segment, leg, after) = probe.Place == Compact.Answered ? ("", "", "") : _places[probe.Place];
            outcomes[i] = new SeqOutcome(probe.Seq, probe.TimestampNs, probe.Place == Compact.Answered, segment, leg, after);
        }

        var freezes = PingRun.Freezes(outcomes, _minLost);
        foreach (var freeze in freezes)
        {
            _freezes.Add(new RunFreeze(key.Src, key.Dst, key.IcmpId, freeze));
        }

        var losses = freezes.Where(f => !f.Silence).ToList();
        if (losses.Count < 2)
        {
            return;
        }

        var period = PingRun.Period(losses);
        _series.Add(new FreezeSeriesStats(
            key.Src,
            key.Dst,
            key.IcmpId,
            Freezes: losses.Count,
            Periodic: period is not null,
            PeriodNs: period?.PeriodNs ?? 0,
            SpreadNs: period?.SpreadNs ?? 0,
            MeanLost: losses.Average(f => (double)f.Lost),
            IntervalNs: PingRun.Interval(outcomes),
            Segment: losses.GroupBy(f => f.Segment).OrderByDescending(g => g.Count()).First().Key));
    }

    private readonly record struct RunKey(string Src, string Dst, uint IcmpId)
    {
        /// <summary>The correlator's ORDER BY src, dst, icmp_id: TEXT ordinal, the id as a number.</summary>
        public static readonly Comparer<RunKey> Order = Comparer<RunKey>.Create(static (a, b) =>
        {
            var bySrc = string.CompareOrdinal(a.Src, b.Src);
            if (bySrc != 0)
            {
                return bySrc;
            }

            var byDst = string.CompareOrdinal(a.Dst, b.Dst);
            return byDst != 0 ? byDst : a.IcmpId.CompareTo(b.IcmpId);
        });
    }

    /// <summary>One probe of a run in 16 bytes: its time, seq and where it vanished (<see cref="Answered"/> when it did not).</summary>
    private readonly record struct Compact(long TimestampNs, int Place, ushort Seq)
    {
        public const int Answered = -1;
    }
}
