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
        Add(record.Id, record.FirstTsNs, record.RttNs, record.Answered, record.Verdict?.Kind ?? "", record.Verdict?.CostNs ?? 0);
    }

    public void Add(long id, long firstTs, long rtt, bool answered, string verdictKind, long verdictCost)
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
            if (rtt > SlowProbeNs)
            {
                _slowCost[verdictKind] = _slowCost.GetValueOrDefault(verdictKind) + verdictCost;
            }
        }
    }

    public PathSummary ToSummary()
    {
        _answeredRtts.Sort();
        var summary = new PathSummary
        {
            Src = src,
            Dst = dst,
            Probes = (ulong)_probes,
            Answered = (ulong)_answeredRtts.Count,
            Lost = (ulong)(_probes - _answeredRtts.Count),
            RttP50Ns = Percentile(_answeredRtts, 0.50),
            RttP99Ns = Percentile(_answeredRtts, 0.99),
            RttMaxNs = _answeredRtts.Count > 0 ? _answeredRtts[^1] : 0,
            DominantSegment = Dominant(_slowCost.Count > 0 ? _slowCost : _answeredCost),
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

    /// <summary>Nearest rank on sorted values.</summary>
    private static long Percentile(List<long> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }

    private static string Dominant(Dictionary<string, long> costs) =>
        costs.Count == 0
            ? ""
            : costs.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).First().Key;
}
