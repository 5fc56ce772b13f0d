using System.Globalization;
using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Incidents;

/// <summary>
/// Watches stored probes (and firing alerts) for incidents (<see cref="IncidentDetector"/>); when
/// one has settled, asks the agents at both ends of the blamed segment for their traffic
/// accounting around the spike (<see cref="TrafficCollector"/>), derives talkers, bond shares and
/// link load (<see cref="IncidentContext"/>) and stores the incident (<see cref="IncidentStore"/>).
/// </summary>
public sealed partial class IncidentService(
    IOptions<IncidentOptions> options,
    StoredProbeBus stored,
    AlertService alerts,
    TrafficCollector collector,
    IncidentStore store,
    TimeProvider timeProvider,
    ILogger<IncidentService> logger) : BackgroundService
{
    /// <summary>The worst probes kept with an incident.</summary>
    public const int WorstProbes = 10;

    private static readonly TimeSpan s_turn = TimeSpan.FromMilliseconds(500);
    private readonly IncidentOptions _options = options.Value;
    private readonly IncidentDetector _detector = new(options.Value);
    private readonly HashSet<long> _alertsSeen = [];
    private StoredProbeSubscription? _subscription;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        store.Initialize();
        if (_options.Enabled)
        {
            _subscription = stored.Subscribe(p => !p.Answered || p.VerdictCostNs >= (long)_options.SlowCost.TotalNanoseconds);
        }

        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        _subscription?.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_subscription is null)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                foreach (var candidate in Turn())
                {
                    await CompleteAsync(candidate, stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // One failed incident (a locked database…) must not end incident detection.
                Log.TurnFailed(logger, ex);
            }

            try
            {
                await Task.Delay(s_turn, timeProvider, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private List<IncidentCandidate> Turn()
    {
        var now = timeProvider.NowNs();
        while (_subscription!.Reader.TryRead(out var item))
        {
            if (_detector.Observe(item.Probe, now) is { } opened)
            {
                Log.Opened(logger, opened.Reason, opened.Segment.Kind, opened.Segment.From, opened.Segment.To);
            }
        }

        foreach (var alert in alerts.Active.Where(a => a is { State: AlertState.Firing, Node: null, Id: not 0 }))
        {
            if (_alertsSeen.Add(alert.Id) && _detector.ForAlert(alert.Rule.Name, alert.Src, alert.Dst, now) is { } opened)
            {
                Log.Opened(logger, opened.Reason, opened.Segment.Kind, opened.Segment.From, opened.Segment.To);
            }
        }

        return _detector.TakeDue(now);
    }

    /// <summary>Collects the traffic context of a settled incident and stores it.</summary>
    internal async Task<IncidentRecord> CompleteAsync(IncidentCandidate candidate, CancellationToken cancellationToken)
    {
        var record = Record(candidate, _options);
        var targets = Targets(candidate.Segment);
        var (windows, problems) = await collector.CollectAsync(
            targets, record.WindowFromNs, record.WindowToNs, _options.TopFlows, _options.AgentTimeout, cancellationToken);
        record.Windows.AddRange(windows);
        record.Problems.AddRange(problems);
        IncidentContext.Build(record, _options);
        store.Add(record);
        Log.Stored(logger, record.Id, record.Verdict, windows.Count, problems.Count);
        return record;
    }

    /// <summary>The record without traffic: segment, verdict, worst probes, the window to ask for.</summary>
    internal static IncidentRecord Record(IncidentCandidate candidate, IncidentOptions options)
    {
        var probes = candidate.Probes;
        var slow = probes.Count(p => !p.Lost);
        var lost = probes.Count - slow;
        var spikeFrom = probes.Count == 0 ? candidate.OpenedNs : probes.Min(p => p.FirstTsNs);
        var spikeTo = probes.Count == 0 ? candidate.OpenedNs : probes.Max(p => p.FirstTsNs + Math.Max(0, p.RttNs));
        var segment = candidate.Segment;
        var record = new IncidentRecord
        {
            OpenedNs = candidate.OpenedNs,
            Reason = candidate.Reason,
            Segment = segment.Kind,
            FromPoint = segment.From,
            ToPoint = segment.To,
            Leg = segment.Leg,
            SlowProbes = (uint)slow,
            LostProbes = (uint)lost,
            SpikeFromNs = spikeFrom,
            SpikeToNs = spikeTo,
            WindowFromNs = spikeFrom - (long)options.Before.TotalNanoseconds,
            WindowToNs = spikeTo + (long)options.After.TotalNanoseconds,
            Src = candidate.Src,
            Dst = candidate.Dst,
        };
        record.Verdict = Verdict(record, probes);
        record.WorstProbes.AddRange(probes.OrderByDescending(p => p.Lost).ThenByDescending(p => p.CostNs).Take(WorstProbes));
        return record;
    }

    private static string Verdict(IncidentRecord record, List<IncidentProbe> probes)
    {
        var between = record.ToPoint.Length > 0 ? $"between {record.FromPoint} and {record.ToPoint}" : $"beyond {record.FromPoint}";
        var leg = record.Leg is "" or "unknown" ? "" : $", {record.Leg} leg";
        var what = new List<string>();
        if (record.SlowProbes > 0)
        {
            var worst = probes.Where(p => !p.Lost).Max(p => p.CostNs);
            what.Add($"{record.SlowProbes} slow probes (worst {Durations.Format(worst)})");
        }

        if (record.LostProbes > 0)
        {
            what.Add($"{record.LostProbes} lost");
        }

        return $"{record.Segment}{leg}: {string.Join(", ", what)} {between}";
    }

    /// <summary>Both ends of the segment: each node asked for its point's interfaces (all slaves of a bond).</summary>
    internal static List<TrafficTarget> Targets(SegmentKey segment) =>
        new[] { segment.From, segment.To }
            .Where(p => p.Length > 0)
            .Select(p => (Node: p[..Math.Max(0, p.IndexOf('/', StringComparison.Ordinal))], Point: p[(p.IndexOf('/', StringComparison.Ordinal) + 1)..]))
            .Where(p => p.Node.Length > 0)
            .GroupBy(p => p.Node, StringComparer.Ordinal)
            .Select(g => new TrafficTarget(g.Key, [], [.. g.Select(p => p.Point)]))
            .ToList();

    private static partial class Log
    {
        [LoggerMessage(EventId = 5301, Level = LogLevel.Warning, Message = "Incident opened ({Reason}): {Segment} between {From} and {To}; collecting traffic context")]
        public static partial void Opened(ILogger logger, string reason, string segment, string from, string to);

        [LoggerMessage(EventId = 5302, Level = LogLevel.Information, Message = "Incident {Id} stored: {Verdict}; {Windows} traffic windows, {Problems} problems")]
        public static partial void Stored(ILogger logger, long id, string verdict, int windows, int problems);

        [LoggerMessage(EventId = 5303, Level = LogLevel.Error, Message = "Incident turn failed; retrying next turn")]
        public static partial void TurnFailed(ILogger logger, Exception exception);
    }
}

/// <summary>Fails start-up with one message per bad key of <see cref="IncidentOptions.SectionName"/>.</summary>
internal sealed class IncidentOptionsValidator : IValidateOptions<IncidentOptions>
{
    public ValidateOptionsResult Validate(string? name, IncidentOptions options)
    {
        var problems = options.Problems().ToList();
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

public static class IncidentServiceCollectionExtensions
{
    /// <summary>Incident detection, traffic context collection and the incident store (section "Correlator:Incidents").</summary>
    public static IServiceCollection AddIncidents(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<IncidentOptions>().Bind(configuration.GetSection(IncidentOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<IncidentOptions>, IncidentOptionsValidator>());
        services.TryAddSingleton<IncidentStore>();
        services.TryAddSingleton<TrafficCollector>();
        services.TryAddSingleton<IncidentService>();
        services.AddHostedService(sp => sp.GetRequiredService<IncidentService>());
        return services;
    }
}
