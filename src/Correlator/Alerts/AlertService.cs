using System.Threading.Channels;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Ingest;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Alerts;

/// <summary>
/// Feeds stored probes (from the <see cref="StoredProbeBus"/>, so ids are known) to the <see cref="AlertEvaluator"/>,
/// evaluates every <see cref="AlertOptions.EvaluationInterval"/>, records transitions with their
/// notifications in the store and wakes the <see cref="WebhookDispatcher"/>. Rules come from
/// IOptionsMonitor on every turn: an edited config file applies without a restart; an invalid
/// one is logged and the previous rules stay. The same turn checks the agents for silence
/// (<see cref="AgentDownMonitor"/>) and the journal and store for writes they cannot make
/// (<see cref="StoreUnwritableMonitor"/>). A transition the store cannot record (it shares the
/// database, which may be the very thing that is full) is logged at once and recorded, with its
/// notifications, at a later turn: in order, nothing lost.
/// </summary>
public sealed partial class AlertService(
    IOptionsMonitor<AlertOptions> options,
    StoredProbeBus stored,
    AgentRegistry registry,
    StoreHealth storeHealth,
    IAlertStore store,
    WebhookDispatcher dispatcher,
    TimeProvider timeProvider,
    ILogger<AlertService> logger) : BackgroundService
{
    /// <summary>Probes waiting for the evaluator; a burst beyond it is dropped and counted.</summary>
    public const int QueueCapacity = 65_536;

    private readonly AlertEvaluator _evaluator = new();
    private readonly AgentDownMonitor _agentDown = new();
    private readonly StoreUnwritableMonitor _storeUnwritable = new();
    private readonly Queue<AlertTransition> _unrecorded = new();
    private readonly Lock _gate = new();
    private AlertOptions? _applied;
    private StoredProbeSubscription? _subscription;
    private string _lastConfigError = "";

    /// <summary>Pending and firing alerts as of the last evaluation (for the query API).</summary>
    public IReadOnlyList<AlertInstance> Active
    {
        get
        {
            lock (_gate)
            {
                return [.. _evaluator.Active, .. _agentDown.Active, .. _storeUnwritable.Active];
            }
        }
    }

    public long Dropped => _subscription?.Dropped ?? 0;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        store.Initialize();
        _subscription = stored.Subscribe(_ => true, QueueCapacity);
        ApplyRules();
        var now = timeProvider.NowNs();
        _agentDown.GraceFromNs = now;
        var firing = store.Firing();
        if (_applied is { } applied && firing.Count > 0)
        {
            _agentDown.Adopt(firing.Where(a => a.Rule == AgentDownMonitor.AlertName), applied.AgentDown);
            _storeUnwritable.Adopt(firing.Where(a => a.Rule == StoreUnwritableMonitor.AlertName), applied.StoreUnwritable);
            _evaluator.Adopt(firing.Where(a => a.Rule is not (AgentDownMonitor.AlertName or StoreUnwritableMonitor.AlertName)), now);
            Log.Adopted(logger, firing.Count);
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
        var reader = _subscription!.Reader;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Turn(reader);
            }
            catch (Exception ex)
            {
                // One bad turn (a locked database…) must not end alerting: next turn retries.
                Log.TurnFailed(logger, ex);
            }

            var interval = _applied?.EvaluationInterval ?? TimeSpan.FromSeconds(1);
            try
            {
                await ObserveUntilAsync(reader, Task.Delay(interval, timeProvider, stoppingToken), stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>
    /// Between evaluations, probes are observed as they come: the queue never holds a whole
    /// evaluation interval of them (at a million observations a second that was its 65,536
    /// probes, ~80 MB, and the rest of each second's probes were dropped).
    /// </summary>
    private async Task ObserveUntilAsync(ChannelReader<StoredProbe> reader, Task due, CancellationToken stoppingToken)
    {
        while (!due.IsCompleted)
        {
            var more = reader.WaitToReadAsync(stoppingToken).AsTask();
            if (await Task.WhenAny(more, due) == more && (!more.IsCompletedSuccessfully || !more.Result))
            {
                // Cancelled or completed: nothing more comes before the next turn.
                await due;
                return;
            }

            lock (_gate)
            {
                ObserveQueued(reader, timeProvider.NowNs());
            }
        }

        await due;
    }

    /// <summary>Hands every queued probe to the evaluator (the caller holds <c>_gate</c>).</summary>
    private void ObserveQueued(ChannelReader<StoredProbe> reader, long nowNs)
    {
        while (reader.TryRead(out var item))
        {
            _evaluator.Observe(item.Probe, nowNs);
        }
    }

    /// <summary>One evaluation: take the queued probes, advance the state machine, record what changed.</summary>
    internal void Turn(ChannelReader<StoredProbe> reader)
    {
        ApplyRules();
        var now = timeProvider.NowNs();
        List<AlertTransition> transitions;
        lock (_gate)
        {
            ObserveQueued(reader, now);
            transitions = _evaluator.Evaluate(now);
            if (_applied is { } applied)
            {
                transitions.AddRange(_agentDown.Evaluate(
                    registry.Snapshot().Select(a => new AgentSeen(a.Node, a.LastSeenNs)), applied.AgentDown, now));
                transitions.AddRange(_storeUnwritable.Evaluate(storeHealth.Faults, applied.StoreUnwritable, now));
            }
        }

        var config = _applied!;
        var hooks = config.Webhooks.Select(w => w.Name).ToList();
        foreach (var transition in transitions)
        {
            _unrecorded.Enqueue(transition);
        }

        var recorded = Record(config, hooks, now);
        foreach (var transition in transitions)
        {
            // Logged when it happens, recorded or not (an unrecorded one has no id yet).
            if (transition.To == AlertState.Firing)
            {
                Log.Firing(logger, transition.Alert.Id, transition.Alert.Rule.Name, transition.Alert.Summary);
            }
            else
            {
                Log.Resolved(logger, transition.Alert.Id, transition.Alert.Rule.Name, transition.Alert.Path);
            }
        }

        // Re-sends go through the store too: not while it cannot take the transitions.
        var resends = _unrecorded.Count == 0 ? QueueResends(config, hooks, now) : 0;
        if (recorded > 0 || resends > 0)
        {
            dispatcher.Wake();
        }
    }

    /// <summary>Records the transitions not recorded yet, oldest first; stops at the first the store refuses (retried next turn).</summary>
    private int Record(AlertOptions config, IReadOnlyList<string> hooks, long now)
    {
        var recorded = 0;
        while (_unrecorded.TryPeek(out var transition))
        {
            var id = transition.Alert.Id;
            try
            {
                store.Record(transition, hooks, a => AlertmanagerPayload.Build(a, config.GeneratorUrl), now);
            }
            catch (Exception ex) when (StoreHealth.IsUnwritable(ex))
            {
                // The insert's id went with the rolled-back transaction.
                transition.Alert.Id = id;
                Log.RecordDeferred(logger, transition.Alert.Rule.Name, _unrecorded.Count, ex.Message);
                break;
            }

            _unrecorded.Dequeue();
            recorded++;
        }

        return recorded;
    }

    /// <summary>
    /// Alertmanager forgets an alert nobody re-sent once its endsAt (or resolve_timeout) passes:
    /// every firing alert goes to every webhook again each <see cref="AlertOptions.ResendInterval"/>
    /// after its last notification there was settled.
    /// </summary>
    private int QueueResends(AlertOptions config, IReadOnlyList<string> hooks, long now)
    {
        var firing = Active.Where(a => a is { State: AlertState.Firing, Id: not 0 }).ToDictionary(a => a.Id);
        var due = store.DueResends(firing.Keys, hooks, now - (long)config.ResendInterval.TotalNanoseconds);
        if (due.Count == 0)
        {
            return 0;
        }

        var bodies = due.Select(d => d.AlertId).Distinct().ToDictionary(id => id, id => AlertmanagerPayload.Build(firing[id], config.GeneratorUrl));
        store.QueueResends(due.Select(d => (d.AlertId, d.Webhook, d.Resend, bodies[d.AlertId])), now);
        return due.Count;
    }

    private void ApplyRules()
    {
        AlertOptions current;
        try
        {
            current = options.CurrentValue;
        }
        catch (OptionsValidationException ex)
        {
            var message = string.Join("; ", ex.Failures);
            if (message != _lastConfigError)
            {
                _lastConfigError = message;
                Log.InvalidReload(logger, message);
            }

            return;
        }

        if (ReferenceEquals(current, _applied))
        {
            return;
        }

        var rules = current.Rules.Select(AlertRule.Compile).ToList();
        lock (_gate)
        {
            _evaluator.SetRules(rules);
        }

        if (_applied is not null)
        {
            Log.Reloaded(logger, rules.Count, current.Webhooks.Count);
        }

        _applied = current;
        _lastConfigError = "";
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "Alert {Id} firing: {Rule}: {Summary}")]
        public static partial void Firing(ILogger logger, long id, string rule, string summary);

        [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Alert {Id} resolved: {Rule} on {Path}")]
        public static partial void Resolved(ILogger logger, long id, string rule, string path);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Error, Message = "Alert evaluation failed; retrying next turn")]
        public static partial void TurnFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 5004, Level = LogLevel.Error, Message = "Reloaded alert configuration is invalid, keeping the previous rules: {Problem}")]
        public static partial void InvalidReload(ILogger logger, string problem);

        [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Alert configuration reloaded: {Rules} rules, {Webhooks} webhooks")]
        public static partial void Reloaded(ILogger logger, int rules, int webhooks);

        [LoggerMessage(EventId = 5007, Level = LogLevel.Warning,
            Message = "Cannot record alert {Rule} in the store yet ({Problem}); {Waiting} transitions wait and are recorded and notified once it can write")]
        public static partial void RecordDeferred(ILogger logger, string rule, int waiting, string problem);

        [LoggerMessage(EventId = 5006, Level = LogLevel.Information, Message = "Took over {Count} alerts left firing by the previous run: re-sent while their condition holds, resolved with a notification when it does not")]
        public static partial void Adopted(ILogger logger, int count);
    }
}
