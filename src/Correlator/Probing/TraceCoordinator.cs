using HopCapture.Contracts.Reports;
using System.Globalization;
using System.Net;
using System.Threading.Channels;
using Grpc.Core;
using HopCapture.Correlator.Correlation;
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
    WatchBroadcaster watch,
    IOptions<CorrelatorOptions> options,
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

        var channel = hub.Find(request.From)
            ?? throw new RpcException(new Status(StatusCode.FailedPrecondition, $"no agent of node '{request.From}' is connected (see capture agents)"));
        if (!channel.CanProbe)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                $"the agent of node '{request.From}' runs without the prober (Agent:Probing:Enabled is false)"));
        }

        var target = IPAddress.TryParse(request.To, out var literal)
            ? literal.ToString()
            : PlanCompiler.Resolve(request.To, registry.Snapshot())
              ?? throw new RpcException(new Status(StatusCode.NotFound,
                  $"'{request.To}' is neither an IPv4 address nor a node whose agent reports one on a captured interface"));

        var traceId = "trace-" + Guid.NewGuid().ToString("N")[..12];
        var icmpId = (uint)Random.Shared.Next(1, 0x10000);
        var status = Channel.CreateUnbounded<ControlResult>();
        using var results = hub.Await(traceId, r => status.Writer.TryWrite(r));
        using var subscription = watch.Subscribe(r => r.Dst == target && r.Key?.IcmpId == icmpId, (int)request.Count + 1024);
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
        var records = new Dictionary<uint, ProbeRecord>();
        uint sent = 0;
        var src = "";
        DateTimeOffset? doneAt = null;
        var lastProgress = DateTimeOffset.MinValue;
        ProbeRecord? last = null;
        while (records.Count < request.Count)
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

            while (subscription.Reader.TryRead(out var record))
            {
                records[record.Key.IcmpSeq] = record;
                last = record;
            }

            if (now - lastProgress >= ProgressEvery)
            {
                lastProgress = now;
                var answered = (uint)records.Values.Count(r => r.Answered);
                await progress(new TraceProgress
                {
                    Count = request.Count,
                    Sent = Math.Max(sent, (uint)records.Count),
                    Received = answered,
                    Lost = (uint)records.Count - answered,
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

        var report = Report(traceId, request, target, icmpId, Math.Max(sent, (uint)records.Count), records.Values);
        report.Src = src.Length > 0 ? src : records.Values.FirstOrDefault()?.Src ?? "";
        Log.TraceFinished(logger, traceId, report.Sent, report.Received, report.Verdict);
        return report;
    }

    /// <summary>Field report 000's verification over the trace's probes (pure, for tests too).</summary>
    public static TraceReport Report(string traceId, TraceRunRequest request, string target, uint icmpId, uint sent, IEnumerable<ProbeRecord> probes)
    {
        ArgumentNullException.ThrowIfNull(request);
        var all = probes.OrderBy(p => p.Key.IcmpSeq).ToList();
        var answered = all.Where(p => p.Answered).ToList();
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
        uint previous = 0;
        foreach (var seq in answered.Select(p => p.Key.IcmpSeq))
        {
            if (seq != previous + 1)
            {
                report.Jumps.Add(new SeqJump { FromSeq = previous, ToSeq = seq, Missing = seq - previous - 1 });
            }

            previous = seq;
        }

        if (previous < sent)
        {
            report.Jumps.Add(new SeqJump { FromSeq = previous, ToSeq = sent + 1, Missing = sent - previous });
        }

        var rtts = answered.Select(p => p.RttNs).Order().ToList();
        report.RttP50Ns = Percentiles.Nearest(rtts, 0.50);
        report.RttP99Ns = Percentiles.Nearest(rtts, 0.99);
        report.RttMaxNs = rtts.Count == 0 ? 0 : rtts[^1];
        report.WorstProbeId = answered.MaxBy(p => p.RttNs)?.Id ?? 0;

        var groups = new Dictionary<(string From, string To, string Kind), (int Order, List<long> Costs)>();
        foreach (var probe in answered)
        {
            foreach (var segment in probe.Segments)
            {
                var key = (Label(probe, segment.FromPoint), segment.ToPoint < 0 ? "remote" : Label(probe, segment.ToPoint), segment.Kind);
                if (!groups.TryGetValue(key, out var group))
                {
                    group = (segment.FromPoint < 0 ? int.MaxValue : segment.FromPoint, []);
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
        var verdicts = answered.Where(p => p.Verdict is { Segment: >= 0 } v && v.Segment < p.Segments.Count && !p.Segments[v.Segment].WithinNoise)
            .GroupBy(p => p.Verdict.Kind, StringComparer.Ordinal)
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

        var lostIn = all.Where(p => !p.Answered && p.LostIn.Length > 0).GroupBy(p => (p.LostIn, p.LostLeg)).OrderByDescending(g => g.Count()).FirstOrDefault();
        if (lostIn is not null)
        {
            var leg = lostIn.Key.LostLeg.Length > 0 ? $" on the {lostIn.Key.LostLeg} leg" : "";
            verdict += $"; {lostIn.Count().ToString(CultureInfo.InvariantCulture)} lost in {lostIn.Key.LostIn}{leg}";
        }

        report.Verdict = verdict;
        return report;
    }

    private static string Label(ProbeRecord probe, int index) =>
        index >= 0 && index < probe.Points.Count ? probe.Points[index].Node + "/" + probe.Points[index].Point : "?";

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static partial class Log
    {
        [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Trace {Trace}: {From} → {Target}, {Count} probes")]
        public static partial void TraceStarting(ILogger logger, string trace, string from, string target, uint count);

        [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Trace {Trace} finished: {Sent} sent, {Received} received; {Verdict}")]
        public static partial void TraceFinished(ILogger logger, string trace, uint sent, uint received, string verdict);
    }
}
