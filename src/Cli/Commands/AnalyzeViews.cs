using HopCapture.Contracts.Reports;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary>
/// One view of an offline analysis, fed every finalised probe as it comes. Views keep only what
/// they show (a top-N, counts, per-path RTTs), so memory follows the engine's in-flight window,
/// not the file size. A new view is one more implementation in AnalyzeSettings.CreateViews.
/// </summary>
public interface IAnalyzeView
{
    void Add(ProbeRecord record);

    void Complete(AnalyzeReport report);
}

/// <summary><c>capture paths</c> over the files: the correlator's own aggregation.</summary>
public sealed class PathsAnalyzeView : IAnalyzeView
{
    private readonly Dictionary<(string Src, string Dst), PathSummaryBuilder> _paths = [];

    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!_paths.TryGetValue((record.Src, record.Dst), out var builder))
        {
            builder = new PathSummaryBuilder(record.Src, record.Dst);
            _paths.Add((record.Src, record.Dst), builder);
        }

        builder.Add(record);
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var summaries = _paths.Values.Select(static b => b.ToSummary()).ToList();
        // The order the correlator's SQL gives (ORDER BY src, dst on TEXT: ordinal).
        summaries.Sort(static (a, b) =>
        {
            var bySrc = string.CompareOrdinal(a.Src, b.Src);
            return bySrc != 0 ? bySrc : string.CompareOrdinal(a.Dst, b.Dst);
        });
        report.Paths = new ListPathsResponse();
        report.Paths.Paths.AddRange(summaries);
    }
}

/// <summary>The slowest answered probes at or above a round trip, slowest first (top N kept).</summary>
public sealed class SlowAnalyzeView(long minRttNs, int limit) : IAnalyzeView
{
    // Min-heap on (rtt, -id): the root is the first to give way to a slower probe.
    private readonly PriorityQueue<ProbeRecord, (long Rtt, long NegId)> _top = new();
    private ulong _matched;

    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!record.Answered || record.RttNs < minRttNs)
        {
            return;
        }

        _matched++;
        var priority = (record.RttNs, -record.Id);
        if (_top.Count < limit)
        {
            _top.Enqueue(record, priority);
        }
        else if (_top.TryPeek(out _, out var least) && priority.CompareTo(least) > 0)
        {
            _top.DequeueEnqueue(record, priority);
        }
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var probes = new List<ProbeRecord>(_top.Count);
        while (_top.TryDequeue(out var record, out _))
        {
            probes.Add(record);
        }

        probes.Reverse();
        report.Slow = new ListProbesResponse { Matched = _matched };
        report.Slow.Probes.AddRange(probes);
    }
}

/// <summary>Unanswered probes in the order they were sent (the first N kept) and how many there were.</summary>
public sealed class LostAnalyzeView(int limit) : IAnalyzeView
{
    private readonly List<ProbeRecord> _first = [];
    private ulong _matched;

    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (record.Answered)
        {
            return;
        }

        _matched++;
        if (_first.Count < limit)
        {
            _first.Add(record);
        }
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Lost = new ListProbesResponse { Matched = _matched };
        report.Lost.Probes.AddRange(_first.OrderBy(static r => r.FirstTsNs).ThenBy(static r => r.Id));
    }
}

/// <summary>The probes asked for by ICMP seq or by the id analyze gave them (bounded).</summary>
public sealed class ExplainAnalyzeView(IReadOnlyCollection<long> seqs, IReadOnlyCollection<long> ids) : IAnalyzeView
{
    public const int MaxExplained = 100;

    private readonly List<ProbeRecord> _picked = [];

    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_picked.Count < MaxExplained && (ids.Contains(record.Id) || seqs.Contains(record.Key.IcmpSeq)))
        {
            _picked.Add(record);
        }
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Explained.AddRange(_picked.OrderBy(static r => r.Id));
    }
}

/// <summary><c>capture loss</c> over the files: the correlator's own aggregation, per path and place (no probe kept).</summary>
public sealed class LossAnalyzeView : IAnalyzeView
{
    private readonly LossReportBuilder _loss = new();

    public void Add(ProbeRecord record) => _loss.Add(record);

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Loss = _loss.Build();
    }
}

/// <summary>
/// <c>capture freezes</c> over the files: the correlator's own detection. Lost probes finalise
/// after later answered ones, so the builder sorts each run first; it keeps 16 bytes per probe
/// (see <see cref="FreezeReportBuilder"/>), twice the paths view's 8.
/// </summary>
public sealed class FreezesAnalyzeView(int minLost) : IAnalyzeView
{
    private readonly FreezeReportBuilder _freezes = new(minLost);

    public void Add(ProbeRecord record) => _freezes.Add(record);

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Freezes = _freezes.Build();
    }
}
