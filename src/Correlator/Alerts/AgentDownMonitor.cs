using HopCapture.Correlator.Selection;

namespace HopCapture.Correlator.Alerts;

/// <summary>When an agent last reported, as the registry knows it (max over the node's instances).</summary>
public readonly record struct AgentSeen(string Node, long LastSeenNs);

/// <summary>
/// The built-in agent-down alert, free of I/O and of the clock like <see cref="AlertEvaluator"/>:
/// a node whose agent has not reported for longer than <see cref="AgentDownOptions.After"/> fires
/// at once (the silence is its own hold time); it resolves as soon as the agent reports again,
/// when the node leaves the watched set, or when the alert is turned off. After a correlator
/// restart the agents get <see cref="AgentDownOptions.After"/> from <see cref="GraceFromNs"/> to
/// reconnect (nobody could report to a correlator that was down); an alert adopted from the
/// previous run keeps firing until its agent reports.
/// </summary>
public sealed class AgentDownMonitor
{
    public const string AlertName = "hopcapture-agent-down";

    private readonly Dictionary<string, AlertInstance> _firing = new(StringComparer.Ordinal);
    private AgentDownOptions? _options;
    private AlertRule? _rule;
    private Glob _nodes = new("*");

    /// <summary>Silence is counted from here at the earliest: the correlator's start.</summary>
    public long GraceFromNs { get; set; }

    /// <summary>Alerts firing now.</summary>
    public IEnumerable<AlertInstance> Active => _firing.Values;

    public List<AlertTransition> Evaluate(IEnumerable<AgentSeen> agents, AgentDownOptions options, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(options);
        var rule = Rule(options);
        var afterNs = (long)options.After.TotalNanoseconds;
        var down = new Dictionary<string, long>(StringComparer.Ordinal);
        if (options.Enabled)
        {
            foreach (var group in agents.Where(a => _nodes.IsMatch(a.Node)).GroupBy(a => a.Node, StringComparer.Ordinal))
            {
                var lastSeen = group.Max(a => a.LastSeenNs);
                var silentSince = _firing.ContainsKey(group.Key) ? lastSeen : Math.Max(lastSeen, GraceFromNs);
                if (nowNs - silentSince > afterNs)
                {
                    down[group.Key] = lastSeen;
                }
            }
        }

        var transitions = new List<AlertTransition>();
        foreach (var (node, alert) in _firing.Where(f => !down.ContainsKey(f.Key)).ToList())
        {
            alert.State = AlertState.Resolved;
            alert.ResolvedNs = nowNs;
            _firing.Remove(node);
            transitions.Add(new AlertTransition(alert, AlertState.Resolved));
        }

        foreach (var (node, lastSeen) in down)
        {
            if (!_firing.TryGetValue(node, out var alert))
            {
                alert = new AlertInstance(rule, node) { State = AlertState.Firing, StartedNs = lastSeen + afterNs, FiringNs = nowNs };
                alert.FreezeLabels();
                _firing[node] = alert;
                transitions.Add(new AlertTransition(alert, AlertState.Firing));
            }

            alert.Rule = rule;
            alert.LastSeenNs = lastSeen;
            alert.Value = Math.Round((nowNs - lastSeen) / 1e9, 1);
        }

        return transitions;
    }

    /// <summary>Takes over alerts the previous run left firing (node = src; store ids and labels kept, so they resolve as themselves).</summary>
    public void Adopt(IEnumerable<FiringAlert> firing, AgentDownOptions options)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(options);
        var rule = Rule(options);
        foreach (var stored in firing)
        {
            var alert = new AlertInstance(rule, stored.Src) { Id = stored.Id, State = AlertState.Firing, StartedNs = stored.StartedNs, FiringNs = stored.FiringNs, Value = stored.Value };
            alert.FreezeLabels(stored.Labels);
            _firing.TryAdd(stored.Src, alert);
        }
    }

    /// <summary>The rule the alerts carry (name, severity, threshold in seconds), rebuilt when the options change.</summary>
    private AlertRule Rule(AgentDownOptions options)
    {
        if (_rule is null || !ReferenceEquals(options, _options))
        {
            _rule = AlertRule.BuiltIn(AlertName, options.After.TotalSeconds, options.Severity);
            _nodes = new Glob(options.Nodes);
            _options = options;
        }

        return _rule;
    }
}
