using HopCapture.Analysis.Probes;
using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary>
/// One view of an offline analysis, fed every finalised probe as it comes. Views keep only what
/// they show (a top-N, counts, per-path RTTs), so memory follows the engine's in-flight window,
/// not the file size. A new view is one more implementation in AnalyzeSettings.CreateViews.
/// </summary>
public interface IAnalyzeView
{
    void Add(Probe probe);

    void Complete(AnalyzeReport report);
}

/// <summary><c>capture paths</c> over the files: the correlator's own aggregation.</summary>
public sealed class PathsAnalyzeView : IAnalyzeView
{
    private readonly Dictionary<(string Src, string Dst), PathSummaryBuilder> _paths = [];

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var (src, dst) = (probe.Src, probe.Dst);
        if (!_paths.TryGetValue((src, dst), out var builder))
        {
            builder = new PathSummaryBuilder(src, dst);
            _paths.Add((src, dst), builder);
        }

        builder.Add(probe);
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var paths = _paths.Values.Select(static b => b.Build()).ToList();
        // The order the correlator's SQL gives.
        paths.Sort(PathStats.Order);
        report.Paths = new ListPathsResponse();
        report.Paths.Paths.AddRange(paths.Select(static p => p.ToProto()));
    }
}

/// <summary>The slowest answered probes at or above a round trip, slowest first (top N kept).</summary>
public sealed class SlowAnalyzeView(long minRttNs, int limit) : IAnalyzeView
{
    // Min-heap on (rtt, -id): the root is the first to give way to a slower probe.
    private readonly PriorityQueue<Probe, (long Rtt, long NegId)> _top = new();
    private ulong _matched;

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (!probe.Answered || probe.RttNs < minRttNs)
        {
            return;
        }

        _matched++;
        var priority = (probe.RttNs, -probe.Id);
        if (_top.Count < limit)
        {
            _top.Enqueue(probe, priority);
        }
        else if (_top.TryPeek(out _, out var least) && priority.CompareTo(least) > 0)
        {
            _top.DequeueEnqueue(probe, priority);
        }
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var probes = new List<ProbeRecord>(_top.Count);
        while (_top.TryDequeue(out var probe, out _))
        {
            probes.Add(probe.ToRecord());
        }

        probes.Reverse();
        report.Slow = new ListProbesResponse { Matched = _matched };
        report.Slow.Probes.AddRange(probes);
    }
}

/// <summary>Unanswered probes in the order they were sent (the first N kept) and how many there were.</summary>
public sealed class LostAnalyzeView(int limit) : IAnalyzeView
{
    private readonly List<Probe> _first = [];
    private ulong _matched;

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (probe.Answered)
        {
            return;
        }

        _matched++;
        if (_first.Count < limit)
        {
            _first.Add(probe);
        }
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Lost = new ListProbesResponse { Matched = _matched };
        report.Lost.Probes.AddRange(_first.OrderBy(static p => p.FirstTsNs).ThenBy(static p => p.Id).Select(static p => p.ToRecord()));
    }
}

/// <summary>The probes asked for by ICMP seq or by the id analyze gave them (bounded).</summary>
public sealed class ExplainAnalyzeView(IReadOnlyCollection<long> seqs, IReadOnlyCollection<long> ids) : IAnalyzeView
{
    public const int MaxExplained = 100;

    private readonly List<Probe> _picked = [];

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (_picked.Count < MaxExplained && (ids.Contains(probe.Id) || seqs.Contains(probe.IcmpSeq)))
        {
            _picked.Add(probe);
        }
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Explained.AddRange(_picked.OrderBy(static p => p.Id).Select(static p => p.ToRecord()));
    }
}

/// <summary><c>capture loss</c> over the files: the correlator's own aggregation, per path and place (no probe kept).</summary>
public sealed class LossAnalyzeView : IAnalyzeView
{
    private readonly LossReportBuilder _loss = new();

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        _loss.Add(probe);
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Loss = _loss.Build().ToProto();
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

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        _freezes.Add(probe);
    }

    public void Complete(AnalyzeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Freezes = _freezes.Build().ToProto();
    }
}
