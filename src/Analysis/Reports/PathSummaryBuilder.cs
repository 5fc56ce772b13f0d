using HopCapture.Analysis.Probes;

namespace HopCapture.Analysis.Reports;

/// <summary>How many probes of a path had a verdict of <paramref name="Kind"/>.</summary>
public sealed record VerdictShare(string Kind, uint Probes);

/// <summary>
/// One src → dst path: loss, RTT p50/p99/max over answered probes, verdict shares (most first,
/// then by kind, ordinal) and the segment and leg that held the most delay.
/// </summary>
public sealed record PathStats(
    string Src,
    string Dst,
    ulong Probes,
    ulong Answered,
    ulong Lost,
    long RttP50Ns,
    long RttP99Ns,
    long RttMaxNs,
    string DominantSegment,
    string DominantLeg,
    long FirstTsNs,
    long LastTsNs,
    long WorstProbeId,
    IReadOnlyList<VerdictShare> Verdicts)
{
    public long RttP90Ns { get; init; }

    /// <summary>SQLite's ORDER BY src, dst on TEXT: a byte-wise (ordinal) comparison.</summary>
    public static int Order(PathStats a, PathStats b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var bySrc = string.CompareOrdinal(a.Src, b.Src);
        return bySrc != 0 ? bySrc : string.CompareOrdinal(a.Dst, b.Dst);
    }
}

/// <summary>
/// Aggregates the probes of one src → dst path into <see cref="PathStats"/>. The one copy of
/// this logic: the correlator feeds it rows from SQLite, <c>capture analyze</c> feeds it probes.
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

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        Add(probe.Id, probe.FirstTsNs, probe.RttNs, probe.Answered, probe.VerdictKindName, probe.VerdictCostNs, probe.VerdictLegName);
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

    public PathStats Build()
    {
        _answeredRtts.Sort();
        var slow = _slowCost.Count > 0;
        var dominant = Dominant(slow ? _slowCost : _answeredCost);
        var verdicts = _verdicts
            .OrderByDescending(v => v.Value)
            .ThenBy(v => v.Key, StringComparer.Ordinal)
            .Select(v => new VerdictShare(v.Key, v.Value))
            .ToArray();
        return new PathStats(
            src,
            dst,
            Probes: (ulong)_probes,
            Answered: (ulong)_answeredRtts.Count,
            Lost: (ulong)(_probes - _answeredRtts.Count),
            RttP50Ns: Percentiles.Nearest(_answeredRtts, 0.50),
            RttP99Ns: Percentiles.Nearest(_answeredRtts, 0.99),
            RttMaxNs: _answeredRtts.Count > 0 ? _answeredRtts[^1] : 0,
            DominantSegment: dominant,
            DominantLeg: DominantLeg(slow ? _slowLegs : _answeredLegs, dominant),
            FirstTsNs: _probes > 0 ? _firstTs : 0,
            LastTsNs: _probes > 0 ? _lastTs : 0,
            WorstProbeId: _worstId,
            Verdicts: verdicts)
        {
            RttP90Ns = Percentiles.Nearest(_answeredRtts, 0.90),
        };
    }

    /// <summary>
    /// The leg most probes with the dominant verdict held their delay on: the majority of those
    /// whose leg is known, "unknown" when none is, "" without a dominant segment.
    /// </summary>
    public static string DominantLeg(IReadOnlyDictionary<(string Kind, string Leg), int> legs, string dominant)
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

    /// <summary>The kind with the largest cost (ties: ordinal first); "" when none.</summary>
    public static string Dominant(IReadOnlyDictionary<string, long> costs) =>
        costs.Count == 0
            ? ""
            : costs.OrderByDescending(c => c.Value).ThenBy(c => c.Key, StringComparer.Ordinal).First().Key;
}
