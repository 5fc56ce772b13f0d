using System.Globalization;
using HopCapture.Analysis.Legs;
using HopCapture.Analysis.Loss;
using HopCapture.Analysis.Probes;
using HopCapture.Analysis.Reports;
using HopCapture.Analysis.Segments;
using HopCapture.Correlator.Hosting;
using HopCapture.Engine.Model;

namespace HopCapture.Correlator.Alerts;

public enum AlertState
{
    Inactive,
    Pending,
    Firing,
    Resolved,
}

/// <summary>
/// One alert of one rule on one path, from its first pending moment to its resolution; or, for
/// <see cref="AgentDownMonitor"/>, on one node (<see cref="Node"/> set, stored with the node as
/// src and an empty dst).
/// </summary>
public sealed class AlertInstance
{
    private Dictionary<string, string>? _labels;

    internal AlertInstance(AlertRule rule, string src, string dst)
    {
        Rule = rule;
        Src = src;
        Dst = dst;
    }

    internal AlertInstance(AlertRule rule, string node)
        : this(rule, node, "")
    {
        Node = node;
    }

    /// <summary>The node of an agent-down alert; null for a path alert.</summary>
    public string? Node { get; }

    /// <summary>For a store-unwritable alert (<see cref="StoreUnwritableMonitor"/>): the part that cannot write ("journal", "store"); null otherwise.</summary>
    public string? Part { get; init; }

    /// <summary>For a store-unwritable alert: why the part cannot write.</summary>
    public string Problem { get; internal set; } = "";

    /// <summary>Unit of <see cref="Value"/> and the rule's threshold: the statistic's, seconds for agent-down.</summary>
    public string Unit => Node is null ? Rule.Unit : "s";

    /// <summary>For agent-down: when the agent last reported (unix ns).</summary>
    public long LastSeenNs { get; internal set; }

    /// <summary>Store id, set once it is recorded (on firing).</summary>
    public long Id { get; set; }

    public AlertRule Rule { get; internal set; }

    public string Src { get; }

    public string Dst { get; }

    public AlertState State { get; internal set; }

    public long StartedNs { get; internal set; }

    public long FiringNs { get; internal set; }

    public long ResolvedNs { get; internal set; }

    /// <summary>The statistic at the last evaluation while pending or firing.</summary>
    public double Value { get; internal set; }

    public int Samples { get; internal set; }

    public IReadOnlyList<long> WorstProbes { get; internal set; } = [];

    internal long ConditionFalseSinceNs { get; set; }

    public string Path => Node ?? $"{Src} → {Dst}";

    public string Summary
    {
        get
        {
            var rule = Rule;
            if (Part is not null)
            {
                var seconds = Value.ToString("0.#", CultureInfo.InvariantCulture);
                return State == AlertState.Resolved
                    ? $"the {Part} writes again after {seconds} s; ingest resumed"
                    : $"the {Part} cannot write for {seconds} s ({Problem}): ingest is held back, agents keep their batches in their spools";
            }

            if (Node is not null)
            {
                return State == AlertState.Resolved
                    ? $"agent {Node} reports again after {Value.ToString("0.#", CultureInfo.InvariantCulture)} s of silence"
                    : $"agent {Node} has not reported for {Value.ToString("0.#", CultureInfo.InvariantCulture)} s " +
                       $"(> {rule.Threshold.ToString("0.#", CultureInfo.InvariantCulture)} s): no heartbeat or batch since {UnixTime.Rfc3339(LastSeenNs)}";
            }

            var segment = rule.Segment is "*" or "any" or "" ? "round trip" : rule.Segment;
            var what = rule.Statistic switch
            {
                AlertStatistic.Loss => $"loss in {segment} {Value.ToString("0.#", CultureInfo.InvariantCulture)} % > {rule.Threshold.ToString("0.#", CultureInfo.InvariantCulture)} %",
                AlertStatistic.Freezes => $"{Value.ToString("0", CultureInfo.InvariantCulture)} freezes in {segment} > {rule.Threshold.ToString("0", CultureInfo.InvariantCulture)}",
                _ => $"{segment} {AlertStatistics.Name(rule.Statistic)} {Durations.Format((long)(Value * 1e6))} > {Durations.Format((long)(rule.Threshold * 1e6))}",
            };
            var leg = rule.Leg == Leg.Any ? "" : $" ({SegmentLegs.Name(rule.Leg)} leg)";
            var worst = WorstProbes.Count == 0 ? "" : "; worst probes " + string.Join(", ", WorstProbes.Select(id => id.ToString(CultureInfo.InvariantCulture)));
            return $"{Path}: {what}{leg} over {Samples} probes in {rule.Options.Window.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s{worst}";
        }
    }

    /// <summary>
    /// The identifying labels. Frozen when the alert fires (<see cref="FreezeLabels"/>): every
    /// re-send and the resolution carry the very labels of the first notification, so
    /// Alertmanager sees one alert even when the rule's severity is edited while it fires.
    /// </summary>
    public Dictionary<string, string> Labels() => new(_labels ?? CurrentLabels(), StringComparer.Ordinal);

    /// <summary>Fixes the labels to the rule's current ones, or to those stored by the previous run.</summary>
    internal void FreezeLabels(IReadOnlyDictionary<string, string>? stored = null) =>
        _labels = stored is null or { Count: 0 } ? CurrentLabels() : new Dictionary<string, string>(stored, StringComparer.Ordinal);

    private Dictionary<string, string> CurrentLabels() => Part is not null
        ? new(StringComparer.Ordinal)
        {
            ["alertname"] = Rule.Name,
            ["severity"] = Rule.Options.Severity,
            ["part"] = Part,
        }
        : Node is not null
        ? new(StringComparer.Ordinal)
        {
            ["alertname"] = Rule.Name,
            ["severity"] = Rule.Options.Severity,
            ["node"] = Node,
        }
        : new(StringComparer.Ordinal)
    {
        ["alertname"] = Rule.Name,
        ["severity"] = Rule.Options.Severity,
        ["src"] = Src,
        ["dst"] = Dst,
        ["segment"] = Rule.Segment,
        ["segment_match"] = SegmentSelector.MatchName(Rule.Selector.Match),
        ["leg"] = SegmentLegs.Name(Rule.Leg),
        ["statistic"] = AlertStatistics.Name(Rule.Statistic),
    };
}

/// <summary>An alert the previous run left firing, as the store has it.</summary>
public sealed record FiringAlert(long Id, string Rule, string Src, string Dst, IReadOnlyDictionary<string, string> Labels, double Value, long StartedNs, long FiringNs);

/// <summary>A state change the caller records and notifies: to firing or to resolved.</summary>
public readonly record struct AlertTransition(AlertInstance Alert, AlertState To);

/// <summary>
/// The alert state machine, free of I/O and of the clock: probes come in with the time they
/// arrived, <see cref="Evaluate"/> runs with the current time. Per rule and path a window of
/// samples; the condition needs <c>MinSamples</c> samples of which <c>MinBreaching</c> breach,
/// so a single probe never pages. inactive → pending (condition true) → firing (still true after
/// <c>For</c>) → resolved (false for <c>KeepFiringFor</c>); pending that clears goes back quietly.
/// </summary>
public sealed class AlertEvaluator
{
    /// <summary>Samples kept per rule and path; beyond it the oldest go (bounded memory).</summary>
    public const int MaxSamplesPerSeries = 20_000;

    /// <summary>Rule × path series kept; new paths beyond it are not tracked (and counted).</summary>
    public const int MaxSeries = 20_000;

    private readonly Dictionary<(string Rule, string Src, string Dst), Series> _series = [];
    private IReadOnlyList<AlertRule> _rules = [];

    public long SeriesDropped { get; private set; }

    public IReadOnlyList<AlertRule> Rules => _rules;

    /// <summary>Alerts pending or firing now.</summary>
    public IEnumerable<AlertInstance> Active => _series.Values
        .Select(s => s.Alert)
        .Where(a => a is { State: AlertState.Pending or AlertState.Firing })
        .Select(a => a!);

    /// <summary>
    /// Replaces the rules (a reloaded configuration). A rule that keeps its name keeps its
    /// windows and alerts; the alerts of a removed rule resolve at the next evaluation.
    /// </summary>
    public void SetRules(IReadOnlyList<AlertRule> rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        _rules = rules;
        var byName = rules.ToDictionary(r => r.Name, StringComparer.Ordinal);
        foreach (var series in _series.Values)
        {
            series.Rule = byName.GetValueOrDefault(series.Rule.Name) ?? series.Rule;
            series.Removed = !byName.ContainsKey(series.Rule.Name);
            if (series.Alert is { } alert)
            {
                alert.Rule = series.Rule;
            }
        }
    }

    /// <summary>
    /// Takes over the alerts the previous run left firing, store ids and labels kept, so their
    /// re-sends and resolution are the same alert to Alertmanager. Their windows died with that
    /// run: each stays firing for its rule's Window + For from <paramref name="nowNs"/> while
    /// probes refill the window (a fault that persists neither resolves nor fires twice), then
    /// follows its condition as any alert does; one whose rule is gone resolves at the next evaluation.
    /// </summary>
    public void Adopt(IEnumerable<FiringAlert> firing, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(firing);
        var byName = _rules.ToDictionary(r => r.Name, StringComparer.Ordinal);
        foreach (var stored in firing)
        {
            var key = (stored.Rule, stored.Src, stored.Dst);
            if (_series.ContainsKey(key))
            {
                continue;
            }

            var rule = byName.GetValueOrDefault(stored.Rule);
            var series = new Series(rule ?? AlertRule.Compile(new AlertRuleOptions { Name = stored.Rule, Segment = "*" }), stored.Src, stored.Dst)
            {
                Removed = rule is null,
                GraceUntilNs = rule is null ? 0 : nowNs + rule.WindowNs + rule.ForNs,
            };
            series.Alert = new AlertInstance(series.Rule, stored.Src, stored.Dst)
            {
                Id = stored.Id,
                State = AlertState.Firing,
                StartedNs = stored.StartedNs,
                FiringNs = stored.FiringNs,
                Value = stored.Value,
            };
            series.Alert.FreezeLabels(stored.Labels);
            _series[key] = series;
        }
    }

    public void Observe(Probe probe, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(probe);
        foreach (var rule in _rules)
        {
            if (!rule.MatchesPath(probe) || !rule.TrySample(probe, out var value, out var breaching))
            {
                continue;
            }

            var key = (rule.Name, probe.Src, probe.Dst);
            if (!_series.TryGetValue(key, out var series))
            {
                if (_series.Count >= MaxSeries)
                {
                    SeriesDropped++;
                    continue;
                }

                series = new Series(rule, probe.Src, probe.Dst);
                _series[key] = series;
            }

            if (series.Samples.Count >= MaxSamplesPerSeries)
            {
                series.Samples.Dequeue();
            }

            // Freezes need each probe's place in its ping run; the other statistics only its value.
            var run = rule.Statistic == AlertStatistic.Freezes
                ? new SeqOutcome(probe.IcmpSeq, probe.FirstTsNs, probe.Answered, probe.LostInName, probe.LostLegName, probe.LostAfterName)
                : default;
            series.Samples.Enqueue(new Sample(nowNs, value, probe.Id, breaching, probe.IcmpId, run));
        }
    }

    /// <summary>Advances every alert to <paramref name="nowNs"/>; returns what became firing or resolved.</summary>
    public List<AlertTransition> Evaluate(long nowNs)
    {
        var transitions = new List<AlertTransition>();
        List<(string, string, string)>? forget = null;
        foreach (var (key, series) in _series)
        {
            var rule = series.Rule;
            while (series.Samples.Count > 0 && series.Samples.Peek().Ns < nowNs - rule.WindowNs)
            {
                series.Samples.Dequeue();
            }

            var (condition, value) = series.Removed ? (false, 0.0) : Compute(series, rule);
            var alert = series.Alert;
            switch (alert?.State ?? AlertState.Inactive)
            {
                case AlertState.Inactive or AlertState.Resolved when condition:
                    alert = series.Alert = new AlertInstance(rule, series.Src, series.Dst) { State = AlertState.Pending, StartedNs = nowNs };
                    Update(alert, series, value);
                    if (rule.ForNs == 0)
                    {
                        Fire(alert, nowNs, transitions);
                    }

                    break;
                case AlertState.Pending when condition:
                    Update(alert!, series, value);
                    if (nowNs - alert!.StartedNs >= rule.ForNs)
                    {
                        Fire(alert, nowNs, transitions);
                    }

                    break;
                case AlertState.Pending:
                    series.Alert = null;
                    break;
                case AlertState.Firing when condition:
                    Update(alert!, series, value);
                    alert!.ConditionFalseSinceNs = 0;
                    break;
                case AlertState.Firing when nowNs < series.GraceUntilNs && !series.Removed:
                    // Adopted from the previous run: its window is still refilling.
                    break;
                case AlertState.Firing:
                    if (alert!.ConditionFalseSinceNs == 0)
                    {
                        alert.ConditionFalseSinceNs = nowNs;
                    }

                    if (series.Removed || nowNs - alert.ConditionFalseSinceNs >= rule.KeepFiringForNs)
                    {
                        alert.State = AlertState.Resolved;
                        alert.ResolvedNs = nowNs;
                        transitions.Add(new AlertTransition(alert, AlertState.Resolved));
                    }

                    break;
            }

            if (series.Samples.Count == 0 && series.Alert is null or { State: AlertState.Resolved })
            {
                (forget ??= []).Add(key);
            }
        }

        foreach (var key in forget ?? [])
        {
            _series.Remove(key);
        }

        return transitions;
    }

    private static void Fire(AlertInstance alert, long nowNs, List<AlertTransition> transitions)
    {
        alert.State = AlertState.Firing;
        alert.FiringNs = nowNs;
        alert.FreezeLabels();
        transitions.Add(new AlertTransition(alert, AlertState.Firing));
    }

    private static void Update(AlertInstance alert, Series series, double value)
    {
        alert.Value = value;
        alert.Samples = series.Samples.Count;
        alert.WorstProbes = [.. series.Samples.Where(s => s.Breaching && s.ProbeId != 0)
            .OrderByDescending(s => s.Value).ThenByDescending(s => s.Ns).Select(s => s.ProbeId).Distinct().Take(5)];
    }

    private static (bool Condition, double Value) Compute(Series series, AlertRule rule)
    {
        var samples = series.Samples;
        if (samples.Count < rule.Options.MinSamples)
        {
            return (false, 0);
        }

        double value;
        var breaching = 0;
        switch (rule.Statistic)
        {
            case AlertStatistic.Loss:
                foreach (var s in samples)
                {
                    breaching += s.Breaching ? 1 : 0;
                }

                value = 100.0 * breaching / samples.Count;
                break;
            case AlertStatistic.Freezes:
                // What `capture freezes` finds over the same probes (field report 000: ~42 lost in a
                // row, seq gaps included), counted where the rule looks.
                value = CountFreezes(samples, rule);
                return (value > rule.Threshold, value);
            default:
                var sorted = new List<double>(samples.Count);
                foreach (var s in samples)
                {
                    sorted.Add(s.Value);
                    breaching += s.Breaching ? 1 : 0;
                }

                sorted.Sort();
                value = rule.Statistic switch
                {
                    AlertStatistic.P50 => Percentiles.Nearest(sorted, 0.50),
                    AlertStatistic.P99 => Percentiles.Nearest(sorted, 0.99),
                    _ => sorted[^1],
                };
                break;
        }

        return (value > rule.Threshold && breaching >= rule.Options.MinBreaching, value);
    }

    /// <summary>
    /// The freezes of each ping run (one ICMP id) among the window's probes, found by the one
    /// ping-run analysis in its order, that the rule counts (their place and leg).
    /// </summary>
    private static int CountFreezes(Queue<Sample> samples, AlertRule rule)
    {
        var runs = new Dictionary<ushort, List<SeqOutcome>>();
        foreach (var s in samples)
        {
            if (!runs.TryGetValue(s.IcmpId, out var run))
            {
                run = [];
                runs.Add(s.IcmpId, run);
            }

            run.Add(s.Run);
        }

        var count = 0;
        foreach (var run in runs.Values)
        {
            run.Sort(PingRun.Order);
            foreach (var freeze in PingRun.Freezes(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(run), rule.Options.FreezeMinLost))
            {
                count += rule.Counts(freeze) ? 1 : 0;
            }
        }

        return count;
    }

    private readonly record struct Sample(long Ns, double Value, long ProbeId, bool Breaching, ushort IcmpId, SeqOutcome Run);

    private sealed class Series(AlertRule rule, string src, string dst)
    {
        public AlertRule Rule { get; set; } = rule;

        public string Src { get; } = src;

        public string Dst { get; } = dst;

        public bool Removed { get; set; }

        /// <summary>An adopted alert keeps firing until then without a condition (<see cref="Adopt"/>).</summary>
        public long GraceUntilNs { get; init; }

        public Queue<Sample> Samples { get; } = new();

        public AlertInstance? Alert { get; set; }
    }
}
