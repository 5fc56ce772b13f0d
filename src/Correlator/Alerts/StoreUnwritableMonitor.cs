using HopCapture.Correlator.Storage;

namespace HopCapture.Correlator.Alerts;

/// <summary>
/// The built-in store-unwritable alert, free of I/O and of the clock like <see cref="AgentDownMonitor"/>:
/// a part (ingest journal, results store) that cannot write fires at once — every second of it
/// holds ingest back — with label <c>part</c>, and resolves as soon as it writes again or the
/// alert is turned off. An alert adopted from the previous run resolves at the first evaluation
/// that finds its part writing.
/// </summary>
public sealed class StoreUnwritableMonitor
{
    public const string AlertName = "hopcapture-store-unwritable";

    private readonly Dictionary<StorePart, AlertInstance> _firing = [];
    private StoreUnwritableOptions? _options;
    private AlertRule? _rule;

    /// <summary>Alerts firing now.</summary>
    public IEnumerable<AlertInstance> Active => _firing.Values;

    /// <summary>Compares the faults now with the alerts firing; returns what changed.</summary>
    public List<AlertTransition> Evaluate(IReadOnlyList<StoreFault> faults, StoreUnwritableOptions options, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(faults);
        ArgumentNullException.ThrowIfNull(options);
        var rule = Rule(options);
        var down = options.Enabled ? faults.ToDictionary(f => f.Part) : [];
        var transitions = new List<AlertTransition>();
        foreach (var (part, alert) in _firing.Where(f => !down.ContainsKey(f.Key)).ToList())
        {
            alert.State = AlertState.Resolved;
            alert.ResolvedNs = nowNs;
            alert.Value = Math.Round((nowNs - alert.StartedNs) / 1e9, 1);
            _firing.Remove(part);
            transitions.Add(new AlertTransition(alert, AlertState.Resolved));
        }

        foreach (var (part, fault) in down)
        {
            if (!_firing.TryGetValue(part, out var alert))
            {
                alert = new AlertInstance(rule, PartLabel(part)) { Part = PartLabel(part), State = AlertState.Firing, StartedNs = fault.SinceNs, FiringNs = nowNs };
                alert.FreezeLabels();
                _firing[part] = alert;
                transitions.Add(new AlertTransition(alert, AlertState.Firing));
            }

            alert.Rule = rule;
            alert.Problem = fault.Problem;
            alert.Value = Math.Round((nowNs - alert.StartedNs) / 1e9, 1);
        }

        return transitions;
    }

    /// <summary>Takes over alerts the previous run left firing (part = src; store ids and labels kept, so they resolve as themselves).</summary>
    public void Adopt(IEnumerable<FiringAlert> firing, StoreUnwritableOptions options)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(options);
        var rule = Rule(options);
        foreach (var stored in firing)
        {
            var part = stored.Src == PartLabel(StorePart.Journal) ? StorePart.Journal : StorePart.Store;
            var alert = new AlertInstance(rule, stored.Src) { Part = stored.Src, Id = stored.Id, State = AlertState.Firing, StartedNs = stored.StartedNs, FiringNs = stored.FiringNs, Value = stored.Value };
            alert.FreezeLabels(stored.Labels);
            _firing.TryAdd(part, alert);
        }
    }

    /// <summary>"journal" or "store": the alert's part label and its stored src.</summary>
    public static string PartLabel(StorePart part) => part == StorePart.Journal ? "journal" : "store";

    private AlertRule Rule(StoreUnwritableOptions options)
    {
        if (_rule is null || !ReferenceEquals(options, _options))
        {
            _rule = AlertRule.BuiltIn(AlertName, 0, options.Severity);
            _options = options;
        }

        return _rule;
    }
}
