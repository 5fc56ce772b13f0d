using System.Globalization;
using System.Net;
using System.Threading.Channels;
using Grpc.Core;
using HopCapture.Analysis.Loss;
using HopCapture.Analysis.Probes;
using HopCapture.Analysis.Reports;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Ingest;
using HopCapture.Correlator.Storage;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Probing;

/// <summary>
/// `capture trace`: asks one agent to send N probes to a target, collects the correlated probes
/// as they are stored (picked out by destination and the ICMP id chosen here), streams progress
/// and ends with field report 000's verification: sent, received, loss, every icmp_seq jump,
/// per-segment p50/p99 and the verdict.
/// </summary>
public sealed partial class TraceCoordinator(
    ControlHub hub,
    AgentRegistry registry,
    StoredProbeBus stored,
    IOptions<CorrelatorOptions> options,
    IOptionsMonitor<ProbingOptions> probing,
    TraceGuard guard,
    TimeProvider timeProvider,
    ILogger<TraceCoordinator> logger)
{
    public const uint MaxCount = 100_000;
    public const uint DefaultSize = 56;
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan ProgressEvery = TimeSpan.FromMilliseconds(250);

    public async Task<TraceReport> RunAsync(TraceRunRequest request, Func<TraceProgress, Task> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(progress);
        if (request.Count is 0 or > MaxCount)
        {
            throw Invalid($"count must be 1-{MaxCount} (got {request.Count})");
        }

        var intervalNs = request.IntervalNs == 0 ? (long)DefaultInterval.TotalNanoseconds : request.IntervalNs;
        if (intervalNs < 10_000_000)
        {
            throw Invalid($"interval must be at least 10 ms (got {Durations.Format(intervalNs)})");
        }

        var size = request.Size == 0 ? DefaultSize : request.Size;
        if (size is < 16 or > 1400)
        {
            throw Invalid($"size must be 16-1400 payload bytes (got {size})");
        }

        var target = IPAddress.TryParse(request.To, out var literal)
            ? literal.ToString()
            : PlanCompiler.Resolve(request.To, registry.Snapshot())
              ?? throw new RpcException(new Status(StatusCode.NotFound,
                  $"'{request.To}' is neither an IPv4 address nor a node whose agent reports one on a captured interface"));

        // Before anything reaches an agent: only monitored or allowed targets, within the node's budget.
        var limits = probing.CurrentValue;
        if (TraceGuard.Refusal(IPAddress.Parse(target), limits, registry.Snapshot()) is { } refused)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, refused));
        }

        var channel = hub.Find(request.From)
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"no agent of node '{request.From}' is connected (see capture agents)"));
        if (!channel.CanProbe)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"the agent of node '{request.From}' runs without the prober (Agent:Probing:Enabled is false)"));
        }

        using var lease = guard.TryReserve(request.From, 1e9 / intervalNs, limits, out var budget)
            ?? throw new RpcException(new Status(StatusCode.ResourceExhausted, budget));
        var traceId = "trace-" + Guid.NewGuid().ToString("N")[..12];
        var icmpId = (uint)Random.Shared.Next(1, 0x10000);
        var status = Channel.CreateUnbounded<ControlResult>();
        using var results = hub.Await(traceId, r => status.Writer.TryWrite(r));
        using var subscription = stored.Subscribe(p => p.Dst == target && p.IcmpId == icmpId, (int)Math.Min(request.Count + 1024, 65_536));
        Log.TraceStarting(logger, traceId, request.From, target, request.Count);
        await channel.WriteAsync(new CorrelatorMessage
        {
            Control = new Control
            {
                CommandId = traceId,
                Trace = new TraceRequest { TraceId = traceId, Target = target, Count = request.Count, IntervalNs = intervalNs, Size = size, IcmpId = icmpId },
            },
        }, cancellationToken);

        var engine = options.Value.Engine;
        var grace = engine.ProbeTimeout + engine.Settle + TimeSpan.FromSeconds(3);
        var deadline = timeProvider.GetUtcNow() + TimeSpan.FromTicks(intervalNs / 100 * request.Count) + grace + TimeSpan.FromSeconds(10);
        var probes = new TraceProbes();
        uint sent = 0;
        var src = "";
        DateTimeOffset? doneAt = null;
        var lastProgress = DateTimeOffset.MinValue;
        Probe? last = null;
        while (probes.Count < request.Count)
        {
            var now = timeProvider.GetUtcNow();
            if (now >= deadline || (doneAt is { } done && now >= done + grace))
            {
                break;
            }

            while (status.Reader.TryRead(out var result))
            {
                if (!result.Ok)
                {
                    throw new RpcException(new Status(StatusCode.FailedPrecondition, $"the agent of '{request.From}' refused the trace: {result.Error}"));
                }

                sent = Math.Max(sent, result.Trace?.Sent ?? 0);
                src = result.Trace?.Src is { Length: > 0 } s ? s : src;
                if (result.Trace?.Done == true)
                {
                    doneAt ??= now;
                }
            }

            while (subscription.Reader.TryRead(out var item))
            {
                probes.Add(item.Probe);
                last = item.Probe;
            }

            if (now - lastProgress >= ProgressEvery)
            {
                lastProgress = now;
                await progress(new TraceProgress
                {
                    Count = request.Count,
                    Sent = Math.Max(sent, (uint)probes.Count),
                    Received = (uint)probes.Answered,
                    Lost = (uint)(probes.Count - probes.Answered),
                    LastRttNs = last?.RttNs ?? 0,
                    LastProbeId = last?.Id ?? 0,
                });
            }

            using var wait = new CancellationTokenSource(ProgressEvery, timeProvider);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(wait.Token, cancellationToken);
            try
            {
                await Task.WhenAny(subscription.Reader.WaitToReadAsync(linked.Token).AsTask(), status.Reader.WaitToReadAsync(linked.Token).AsTask());
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
            }

            cancellationToken.ThrowIfCancellationRequested();
        }

        var report = Report(traceId, request, target, icmpId, Math.Max(sent, (uint)probes.Count), probes.BySeq);
        report.Src = src.Length > 0 ? src : probes.BySeq.FirstOrDefault().Probe?.Src ?? "";
        Log.TraceFinished(logger, traceId, report.Sent, report.Received, report.Verdict);
        return report;
    }

    /// <summary>Field report 000's verification over the trace's probes, in the order they were stored (pure, for tests too).</summary>
    public static TraceReport Report(string traceId, TraceRunRequest request, string target, uint icmpId, uint sent, IEnumerable<Probe> probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        var collected = new TraceProbes();
        foreach (var probe in probes)
        {
            collected.Add(probe);
        }

        return Report(traceId, request, target, icmpId, sent, collected.BySeq);
    }

    /// <summary>The report over probes numbered 1…count in the run (icmp_seq unwrapped past 65,535).</summary>
    public static TraceReport Report(string traceId, TraceRunRequest request, string target, uint icmpId, uint sent, IEnumerable<(long Seq, Probe Probe)> probes)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(probes);
        var all = probes.OrderBy(p => p.Seq).ToList();
        var answered = all.Where(p => p.Probe.Answered).Select(p => p.Probe).ToList();
        var report = new TraceReport
        {
            TraceId = traceId,
            From = request.From,
            To = request.To,
            Dst = target,
            IcmpId = icmpId,
            Count = request.Count,
            Sent = sent,
            Received = (uint)answered.Count,
            Lost = sent - (uint)answered.Count,
            Loss = sent == 0 ? 0 : (double)(sent - answered.Count) / sent,
        };

        // Every icmp_seq jump among the answered probes, as the awk script of report 000 prints them.
        foreach (var jump in PingRun.Jumps(all.Where(p => p.Probe.Answered).Select(p => p.Seq), sent))
        {
            report.Jumps.Add(new Protos.SeqJump { FromSeq = (uint)jump.FromSeq, ToSeq = (uint)jump.ToSeq, Missing = (uint)jump.Missing });
        }

        var rtts = answered.Select(p => p.RttNs).Order().ToList();
        report.RttP50Ns = Percentiles.Nearest(rtts, 0.50);
        report.RttP99Ns = Percentiles.Nearest(rtts, 0.99);
        report.RttMaxNs = rtts.Count == 0 ? 0 : rtts[^1];
        report.WorstProbeId = answered.MaxBy(p => p.RttNs)?.Id ?? 0;

        var groups = new Dictionary<(string From, string To, string Kind), (int Order, List<long> Costs)>();
        foreach (var probe in answered)
        {
            for (var i = 0; i < probe.SegmentCount; i++)
            {
                var segment = probe.Segment(i);
                var key = (Label(probe, segment.From), segment.IsRemote ? "remote" : Label(probe, segment.To), segment.Kind.Name);
                if (!groups.TryGetValue(key, out var group))
                {
                    group = (segment.From < 0 ? int.MaxValue : segment.From, []);
                    groups[key] = group;
                }

                group.Costs.Add(segment.CostNs);
            }
        }

        foreach (var (key, group) in groups.OrderBy(g => g.Value.Order))
        {
            group.Costs.Sort();
            report.Segments.Add(new SegmentStats
            {
                From = key.From,
                To = key.To,
                Kind = key.Kind,
                Samples = (uint)group.Costs.Count,
                P50Ns = Percentiles.Nearest(group.Costs, 0.50),
                P99Ns = Percentiles.Nearest(group.Costs, 0.99),
                MaxNs = group.Costs[^1],
            });
        }

        // The engine's own per-probe verdicts decide; the segment table gives the numbers.
        var verdicts = answered.Where(p => p.Verdict is { WithinNoise: false })
            .GroupBy(p => p.Verdict!.Value.Kind.Name, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count())
            .FirstOrDefault();
        string verdict;
        if (verdicts is null)
        {
            verdict = answered.Count == 0 ? "no answered probes" : "no segment above noise";
        }
        else
        {
            var stats = report.Segments.Where(g => g.Kind == verdicts.Key).MaxBy(g => g.Samples)!;
            verdict = $"{verdicts.Key} ({stats.From} → {stats.To}), p99 {Durations.Format(stats.P99Ns)}, " +
                      $"verdict of {verdicts.Count().ToString(CultureInfo.InvariantCulture)}/{answered.Count.ToString(CultureInfo.InvariantCulture)} answered probes";
        }

        var lostIn = all.Select(p => p.Probe).Where(p => !p.Answered && p.LostInName.Length > 0)
            .GroupBy(p => (p.LostInName, p.LostLegName)).OrderByDescending(g => g.Count()).FirstOrDefault();
        if (lostIn is not null)
        {
            var leg = lostIn.Key.LostLegName.Length > 0 ? $" on the {lostIn.Key.LostLegName} leg" : "";
            verdict += $"; {lostIn.Count().ToString(CultureInfo.InvariantCulture)} lost in {lostIn.Key.LostInName}{leg}";
        }

        report.Verdict = verdict;
        return report;
    }

    private static string Label(Probe probe, int index) =>
        index >= 0 && index < probe.PointCount ? probe.PointName(index) : "?";

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static partial class Log
    {
        [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Trace {Trace}: {From} → {Target}, {Count} probes")]
        public static partial void TraceStarting(ILogger logger, string trace, string from, string target, uint count);

        [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Trace {Trace} finished: {Sent} sent, {Received} received; {Verdict}")]
        public static partial void TraceFinished(ILogger logger, string trace, uint sent, uint received, string verdict);
    }
}

/// <summary>
/// A trace's probes as they are stored, numbered by their place in the run: icmp_seq is 16 bits
/// and a trace may send up to <see cref="TraceCoordinator.MaxCount"/>, so seqs are unwrapped
/// (<see cref="SeqUnwrapper"/>) rather than used as keys; a probe stored twice counts once.
/// </summary>
public sealed class TraceProbes
{
    private readonly SeqUnwrapper _unwrapper = new();
    private readonly Dictionary<long, Probe> _bySeq = [];

    /// <summary>Distinct probes of the run seen so far.</summary>
    public int Count => _bySeq.Count;

    public int Answered { get; private set; }

    /// <summary>Each probe with its number in the run (1 = the first sent).</summary>
    public IEnumerable<(long Seq, Probe Probe)> BySeq => _bySeq.Select(static p => (p.Key, p.Value));

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var seq = _unwrapper.Unwrap(probe.IcmpSeq);
        if (_bySeq.TryGetValue(seq, out var previous))
        {
            Answered -= previous.Answered ? 1 : 0;
        }

        _bySeq[seq] = probe;
        Answered += probe.Answered ? 1 : 0;
    }
}
