using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Ingest;
using HopCapture.Protos;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Probing;

/// <summary>
/// Keeps every connected prober on its current plan: recomputes the plans when the probing
/// configuration changes (IOptionsMonitor, no restart) or an agent comes or goes, and sends a
/// node its plan when it differs from what its stream last got. A periodic pass catches
/// address changes (agents re-sending Hello) and streams that missed an update.
/// </summary>
public sealed partial class PlanPusher : BackgroundService
{
    private static readonly TimeSpan Period = TimeSpan.FromSeconds(10);

    private readonly IOptionsMonitor<ProbingOptions> _options;
    private readonly ControlHub _hub;
    private readonly AgentRegistry _registry;
    private readonly TimeProvider _time;
    private readonly ILogger<PlanPusher> _logger;
    private readonly Wakeup _wake;
    private IDisposable? _onChange;

    public PlanPusher(IOptionsMonitor<ProbingOptions> options, ControlHub hub, AgentRegistry registry, TimeProvider timeProvider, ILogger<PlanPusher> logger)
    {
        _options = options;
        _hub = hub;
        _registry = registry;
        _time = timeProvider;
        _logger = logger;
        _wake = new Wakeup(timeProvider);
    }

    public long Pushed { get; private set; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _hub.Changed += Wake;
        _onChange = _options.OnChange(_ => Wake());
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _hub.Changed -= Wake;
        _onChange?.Dispose();
        await base.StopAsync(cancellationToken);
    }

    public void Wake() => _wake.Set();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await PushAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                Log.PushFailed(_logger, ex);
            }

            if (!await _wake.WaitAsync(Period, stoppingToken))
            {
                return;
            }
        }
    }

    private async Task PushAsync(CancellationToken cancellationToken)
    {
        ProbingOptions options;
        try
        {
            options = _options.CurrentValue;
        }
        catch (OptionsValidationException ex)
        {
            Log.InvalidReload(_logger, string.Join("; ", ex.Failures));
            return;
        }

        var probers = _hub.Channels.Where(c => c.CanProbe).ToList();
        if (probers.Count == 0)
        {
            return;
        }

        var plans = PlanCompiler.Compile(options, _registry.Snapshot(), probers.Select(c => c.Node).ToHashSet(StringComparer.Ordinal));
        foreach (var channel in probers)
        {
            var plan = plans[channel.Node];
            if (plan.PlanId == channel.PlanId)
            {
                continue;
            }

            try
            {
                await channel.WriteAsync(new CorrelatorMessage { Control = new Control { CommandId = "plan-" + plan.PlanId, ProbePlan = plan } }, cancellationToken);
                channel.PlanId = plan.PlanId;
                Pushed++;
                var targets = string.Join(", ", plan.Targets.Select(t => t.Address));
                Log.PlanPushed(_logger, channel.Node, plan.PlanId, plan.Targets.Count, targets);
            }
            catch (Exception ex) when (ex is InvalidOperationException or IOException or ObjectDisposedException)
            {
                // The stream just ended; its next stream gets the plan when it attaches.
                Log.PushToNodeFailed(_logger, channel.Node, ex.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Probe plan {Plan} for {Node}: {Count} targets ({Targets})")]
        public static partial void PlanPushed(ILogger logger, string node, string plan, int count, string targets);

        [LoggerMessage(EventId = 6102, Level = LogLevel.Error, Message = "Pushing probe plans failed")]
        public static partial void PushFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 6103, Level = LogLevel.Error, Message = "Reloaded probing configuration is invalid, keeping the previous plans: {Problem}")]
        public static partial void InvalidReload(ILogger logger, string problem);

        [LoggerMessage(EventId = 6104, Level = LogLevel.Debug, Message = "Could not send the plan to {Node}: {Reason}")]
        public static partial void PushToNodeFailed(ILogger logger, string node, string reason);
    }
}
