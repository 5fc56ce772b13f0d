using HopCapture.Analysis.Reports;
using HopCapture.Protos;

namespace HopCapture.Contracts.Reports;

/// <summary>
/// Aggregates the probes of one src → dst path into a <see cref="PathSummary"/>: loss, RTT
/// p50/p99/max over answered probes, verdict shares and the dominant segment. The one copy of
/// this logic: the correlator feeds it rows from SQLite, <c>capture analyze</c> feeds it records.
/// </summary>
public sealed class PathSummaryBuilder(string src, string dst)
{
    /// <summary>Probes whose rtt is above this count as slow for the dominant segment.</summary>
    public const long SlowProbeNs = 20_000_000;

    private readonly List<long> _answeredRtts = [];
    private readonly Dictionary<string, uint> _verdicts = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _slowCost = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _answeredCost = new(StringComparer.Ordinal);
    private readonly Dictionary<(string Kind, string Leg), int> _slowLegs = [];
    private readonly Dictionary<(string Kind, string Leg), int> _answeredLegs = [];
    private long _probes;
    private long _firstTs = long.MaxValue;
    private long _lastTs = long.MinValue;
    private long _worstId;
    private long _worstRtt = long.MinValue;

    public string Src => src;

    public string Dst => dst;

    /// <summary>Summaries of <paramref name="records"/> grouped by path, ordered by src then dst (ordinal).</summary>
    public static List<PathSummary> Summarize(IEnumerable<ProbeRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var builders = new Dictionary<(string Src, string Dst), PathSummaryBuilder>();
        foreach (var record in records)
        {
            if (!builders.TryGetValue((record.Src, record.Dst), out var builder))
            {
                builder = new PathSummaryBuilder(record.Src, record.Dst);
                builders.Add((record.Src, record.Dst), builder);
            }

            builder.Add(record);
        }

        var summaries = new List<PathSummary>(builders.Count);
        foreach (var builder in builders.Values)
        {
            summaries.Add(builder.ToSummary());
        }

        // SQLite's ORDER BY on TEXT is a byte-wise (ordinal) comparison: keep the same order.
        summaries.Sort(static (a, b) =>
        {
            var bySrc = string.CompareOrdinal(a.Src, b.Src);
            return bySrc != 0 ? bySrc : string.CompareOrdinal(a.Dst, b.Dst);
        });
        return summaries;
    }

    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Add(record.Id, record.FirstTsNs, record.RttNs, record.Answered, record.Verdict?.Kind ?? "", record.Verdict?.CostNs ?? 0, VerdictLeg(record));
    }

    /// <summary>The leg of the verdict's segment ("request", "reply", "both", "unknown"), "" when there is none.</summary>
    public static string VerdictLeg(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Verdict is { Segment: >= 0 } verdict && verdict.Segment < record.Segments.Count
            ? record.Segments[verdict.Segment].Leg
            : "";
    }

    public void Add(long id, long firstTs, long rtt, bool answered, string verdictKind, long verdictCost, string verdictLeg = "")
    {
        ArgumentNullException.ThrowIfNull(verdictKind);
        _probes++;
        _firstTs = Math.Min(_firstTs, firstTs);
        _lastTs = Math.Max(_lastTs, firstTs);
        if (verdictKind.Length > 0)
        {
            _verdicts[verdictKind] = _verdicts.GetValueOrDefault(verdictKind) + 1;
        }

        if (!answered)
        {
            return;
        }

        _answeredRtts.Add(rtt);
        if (rtt > _worstRtt)
        {
            _worstRtt = rtt;
            _worstId = id;
        }

        if (verdictKind.Length > 0)
        {
            _answeredCost[verdictKind] = _answeredCost.GetValueOrDefault(verdictKind) + verdictCost;
            _answeredLegs[(verdictKind, verdictLeg)] = _answeredLegs.GetValueOrDefault((verdictKind, verdictLeg)) + 1;
            if (rtt > SlowProbeNs)
            {
                _slowCost[verdictKind] = _slowCost.GetValueOrDefault(verdictKind) + verdictCost;
                _slowLegs[(verdictKind, verdictLeg)] = _slowLegs.GetValueOrDefault((verdictKind, verdictLeg)) + 1;
            }
        }
    }

    public PathSummary ToSummary()
    {
        _answeredRtts.Sort();
        var slow = _slowCost.Count > 0;
        var dominant = Dominant(slow ? _slowCost : _answeredCost);
        var summary = new PathSummary
        {
            Src = src,
            Dst = dst,
            Probes = (ulong)_probes,
            Answered = (ulong)_answeredRtts.Count,
            Lost = (ulong)(_probes - _answeredRtts.Count),
            RttP50Ns = Percentiles.Nearest(_answeredRtts, 0.50),
            RttP99Ns = Percentiles.Nearest(_answeredRtts, 0.99),
            RttMaxNs = _answeredRtts.Count > 0 ? _answeredRtts[^1] : 0,
            DominantSegment = dominant,
            DominantLeg = DominantLeg(slow ? _slowLegs : _answeredLegs, dominant),
            FirstTsNs = _probes > 0 ? _firstTs : 0,
            LastTsNs = _probes > 0 ? _lastTs : 0,
            WorstProbeId = _worstId,
        };
        foreach (var (kind, probes) in _verdicts.OrderByDescending(v => v.Value).ThenBy(v => v.Key, StringComparer.Ordinal))
        {
            summary.Verdicts.Add(new SegmentShare { Kind = kind, Probes = probes });
        }

        return summary;
    }

    /// <summary>
    /// The leg most probes with the dominant verdict held their delay on: the majority of those
    /// whose leg is known, "unknown" when none is, "" without a dominant segment.
    /// </summary>
    private static string DominantLeg(Dictionary<(string Kind, string Leg), int> legs, string dominant)
    {
        if (dominant.Length == 0)
        {
            return "";
        }

        var best = "unknown";
        var bestCount = 0;
        foreach (var ((kind, leg), count) in legs)
        {
            if (kind == dominant && leg is { Length: > 0 } and not "unknown"
                && (count > bestCount || (count == bestCount && string.CompareOrdinal(leg, best) < 0)))
            {
                best = leg;
                bestCount = count;
            }
        }

        return best;
    }

    private static string Dominant(Dictionary<string, long> costs) =>
        costs.Count == 0
            ? ""
            : costs.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).First().Key;
}
