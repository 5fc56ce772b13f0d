using HopCapture.Analysis.Probes;
using HopCapture.Protos;

namespace HopCapture.Correlator.Incidents;

/// <summary>A segment as incidents name it: its kind and the "node/point" at each end (To empty beyond the last point).</summary>
public readonly record struct SegmentKey(string Kind, string From, string To, string Leg);

/// <summary>An incident being formed: its segment, why it opened, and the probes that belong to it.</summary>
public sealed class IncidentCandidate(SegmentKey segment, string reason, long openedNs)
{
    public SegmentKey Segment { get; } = segment;

    public string Reason { get; } = reason;

    public long OpenedNs { get; } = openedNs;

    /// <summary>When the last probe joined (correlator clock): the cluster is complete once it has been quiet a while.</summary>
    public long LastJoinedNs { get; set; } = openedNs;

    public List<IncidentProbe> Probes { get; } = [];

    public string Src { get; set; } = "";

    public string Dst { get; set; } = "";
}

/// <summary>
/// Opens incidents without any rule: <see cref="IncidentOptions.MinProbes"/> slow probes (the
/// blamed segment cost at least <see cref="IncidentOptions.SlowCost"/>) or lost probes on one
/// segment within <see cref="IncidentOptions.Window"/>. Also opens one for a firing alert, on
/// the segment its path's recent slow probes blame. Pure: the correlator's clock comes in as
/// arguments; bounded: a few probes per segment, segments forgotten when quiet.
/// </summary>
public sealed class IncidentDetector(IncidentOptions options)
{
    /// <summary>Probes a single incident keeps (the worst ones are chosen from them).</summary>
    public const int MaxProbesPerIncident = 500;

    private readonly Dictionary<SegmentKey, Queue<(long ArrivalNs, IncidentProbe Probe, string Src, string Dst)>> _recent = [];
    private readonly Dictionary<SegmentKey, long> _lastOpened = [];
    private readonly List<IncidentCandidate> _pending = [];

    public int Pending => _pending.Count;

    /// <summary>Takes a stored probe; may open an incident (returned) on its segment.</summary>
    public IncidentCandidate? Observe(Probe probe, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (!TryClassify(probe, out var key, out var entry))
        {
            return null;
        }

        var open = _pending.Find(p => p.Segment == key);
        if (open is not null)
        {
            if (open.Probes.Count < MaxProbesPerIncident)
            {
                open.Probes.Add(entry);
            }

            open.LastJoinedNs = nowNs;

            return null;
        }

        if (!_recent.TryGetValue(key, out var queue))
        {
            _recent[key] = queue = new Queue<(long, IncidentProbe, string, string)>();
        }

        queue.Enqueue((nowNs, entry, probe.Src, probe.Dst));
        Prune(queue, nowNs);
        while (queue.Count > options.MinProbes * 4)
        {
            queue.Dequeue();
        }

        if (queue.Count < options.MinProbes || InCooldown(key, nowNs))
        {
            return null;
        }

        return Open(key, entry.Lost ? "loss-cluster" : "slow-cluster", nowNs);
    }

    /// <summary>An incident for a firing path alert, on the segment its recent slow or lost probes blame most; null when none is known.</summary>
    public IncidentCandidate? ForAlert(string rule, string src, string dst, long nowNs)
    {
        var best = _recent
            .Select(r => (r.Key, Count: r.Value.Count(e => e.Src == src && e.Dst == dst)))
            .Where(r => r.Count > 0)
            .OrderByDescending(r => r.Count)
            .FirstOrDefault();
        if (best.Count == 0 || InCooldown(best.Key, nowNs) || _pending.Exists(p => p.Segment == best.Key))
        {
            return null;
        }

        return Open(best.Key, "alert:" + rule, nowNs);
    }

    /// <summary>
    /// Incidents whose cluster is over (no probe joined for <see cref="IncidentOptions.Settle"/>) or
    /// that have been open <see cref="IncidentOptions.MaxOpen"/>: their context is collected now,
    /// so the traffic window covers the whole spike rather than its first seconds.
    /// </summary>
    public List<IncidentCandidate> TakeDue(long nowNs)
    {
        var settle = (long)options.Settle.TotalNanoseconds;
        var maxOpen = (long)options.MaxOpen.TotalNanoseconds;
        bool Due(IncidentCandidate p) => nowNs - p.LastJoinedNs >= settle || nowNs - p.OpenedNs >= maxOpen;
        var due = _pending.Where(Due).ToList();
        _pending.RemoveAll(Due);
        foreach (var key in _recent.Where(r => { Prune(r.Value, nowNs); return r.Value.Count == 0; }).Select(r => r.Key).ToList())
        {
            _recent.Remove(key);
        }

        return due;
    }

    private IncidentCandidate Open(SegmentKey key, string reason, long nowNs)
    {
        var candidate = new IncidentCandidate(key, reason, nowNs);
        if (_recent.Remove(key, out var queue))
        {
            foreach (var (_, probe, src, dst) in queue)
            {
                candidate.Probes.Add(probe);
                candidate.Src = src;
                candidate.Dst = dst;
            }
        }

        _lastOpened[key] = nowNs;
        _pending.Add(candidate);
        return candidate;
    }

    private bool InCooldown(SegmentKey key, long nowNs) =>
        _lastOpened.TryGetValue(key, out var last) && nowNs - last < (long)options.Cooldown.TotalNanoseconds;

    private void Prune(Queue<(long ArrivalNs, IncidentProbe Probe, string Src, string Dst)> queue, long nowNs)
    {
        var windowNs = (long)options.Window.TotalNanoseconds;
        while (queue.Count > 0 && nowNs - queue.Peek().ArrivalNs > windowNs)
        {
            queue.Dequeue();
        }
    }

    /// <summary>A slow probe's blamed segment, or the segment a lost probe vanished in.</summary>
    private bool TryClassify(Probe probe, out SegmentKey key, out IncidentProbe entry)
    {
        key = default;
        entry = new IncidentProbe { Id = probe.Id, FirstTsNs = probe.FirstTsNs, RttNs = probe.RttNs, IcmpSeq = probe.IcmpSeq };
        if (probe.Loss is { } loss)
        {
            var after = probe.Result.LostAfter;
            // A request travels toward higher point indices, a reply back toward lower ones.
            var nextIndex = probe.Outcome == HopCapture.Engine.Correlation.ProbeOutcome.ReplyLost ? after - 1 : after + 1;
            var next = nextIndex >= 0 && nextIndex < probe.PointCount ? probe.PointName(nextIndex) : "";
            key = new SegmentKey(loss.Segment.Name, loss.After, next, loss.LegName);
            entry.Lost = true;
            return loss.After.Length > 0;
        }

        if (probe.Verdict is not { } verdict || verdict.WithinNoise || verdict.CostNs < (long)options.SlowCost.TotalNanoseconds)
        {
            return false;
        }

        key = new SegmentKey(verdict.Kind.Name, probe.PointName(verdict.From), verdict.IsRemote ? "" : probe.PointName(verdict.To), probe.VerdictLegName);
        entry.CostNs = verdict.CostNs;
        return true;
    }
}
