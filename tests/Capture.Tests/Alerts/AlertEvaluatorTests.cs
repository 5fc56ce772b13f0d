using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Hosting;
using HopCapture.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace HopCapture.Tests.Alerts;

/// <summary>The alert state machine on a fake clock: one probe every 100 ms, evaluated each step.</summary>
[FixtureLifeCycle(LifeCycle.InstancePerTestCase)]
public sealed class AlertEvaluatorTests
{
    private const string Src = "10.77.0.11";
    private const string Dst = "10.77.0.12";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero));
    private readonly List<AlertTransition> _transitions = [];

    private static AlertRuleOptions FabricP99() => new()
    {
        Name = "fabric-slow",
        Segment = "fabric",
        Statistic = "p99",
        Threshold = 50,
        Window = TimeSpan.FromSeconds(10),
        For = TimeSpan.FromSeconds(5),
        MinSamples = 10,
        MinBreaching = 3,
    };

    [Test]
    public void Evaluate_SingleSlowProbe_NeverFires()
    {
        var evaluator = Evaluator(Modified(FabricP99(), r => r.Statistic = "max"));

        Run(evaluator, TimeSpan.FromSeconds(20), step => Records.Answered(Src, Dst, "fabric", step == 50 ? 130 : 0.05));

        Assert.That(_transitions, Is.Empty, "one 130 ms probe among fast ones must not page, even on the max statistic");
        Assert.That(evaluator.Active, Is.Empty, "nor leave an alert pending");
    }

    [Test]
    public void Evaluate_SustainedFabricDelay_PendingThenFiringAfterHoldTime()
    {
        var evaluator = Evaluator(FabricP99());
        Run(evaluator, TimeSpan.FromSeconds(2), _ => Records.Answered(Src, Dst, "fabric", 0.05));

        var congestionStart = _time.GetUtcNow();
        AlertInstance? pendingSeen = null;
        Run(evaluator, TimeSpan.FromSeconds(10), _ => Records.Answered(Src, Dst, "fabric", 120), onStep: () =>
        {
            pendingSeen ??= evaluator.Active.FirstOrDefault(a => a.State == AlertState.Pending);
        });

        Assert.That(pendingSeen, Is.Not.Null, "the alert is pending during its hold time");
        Assert.That(_transitions, Has.Count.EqualTo(1));
        var firing = _transitions[0];
        Assert.That(firing.To, Is.EqualTo(AlertState.Firing));
        var firedAfter = DateTimeOffset.UnixEpoch.AddTicks(firing.Alert.FiringNs / 100) - congestionStart;
        Assert.That(firedAfter, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(5)), "not before the hold time");
        Assert.That(firedAfter, Is.LessThan(TimeSpan.FromSeconds(7)), "but soon after it");
        Assert.That(firing.Alert.Value, Is.EqualTo(120).Within(0.01));
        Assert.That(firing.Alert.Labels()["segment"], Is.EqualTo("fabric"));
        Assert.That(firing.Alert.Labels()["src"], Is.EqualTo(Src));
        Assert.That(firing.Alert.WorstProbes, Is.Not.Empty);
        Assert.That(firing.Alert.Summary, Does.Contain("fabric p99 120.00 ms > 50.00 ms"));
    }

    [Test]
    public void Evaluate_CongestionStops_ResolvesOnceAfterWindowDrains()
    {
        var evaluator = Evaluator(FabricP99());
        Run(evaluator, TimeSpan.FromSeconds(10), _ => Records.Answered(Src, Dst, "fabric", 120));
        Assert.That(_transitions.Select(t => t.To), Is.EqualTo(new[] { AlertState.Firing }));

        Run(evaluator, TimeSpan.FromSeconds(30), _ => Records.Answered(Src, Dst, "fabric", 0.05));

        Assert.That(_transitions.Select(t => t.To), Is.EqualTo(new[] { AlertState.Firing, AlertState.Resolved }), "one resolve, no flapping");
        Assert.That(_transitions[1].Alert.ResolvedNs, Is.GreaterThan(_transitions[1].Alert.FiringNs));
    }

    [Test]
    public void Evaluate_ShortBurstShorterThanHold_StaysPendingAndClearsQuietly()
    {
        var evaluator = Evaluator(Modified(FabricP99(), r => r.Window = TimeSpan.FromSeconds(2)));
        Run(evaluator, TimeSpan.FromSeconds(3), _ => Records.Answered(Src, Dst, "fabric", 120));
        Run(evaluator, TimeSpan.FromSeconds(10), _ => Records.Answered(Src, Dst, "fabric", 0.05));

        Assert.That(_transitions, Is.Empty, "3 s of delay under a 5 s hold time does not page");
    }

    [Test]
    public void Evaluate_VifDelayOfSameSize_DoesNotFireFabricRule()
    {
        var evaluator = Evaluator(FabricP99());

        Run(evaluator, TimeSpan.FromSeconds(20), _ => Records.Answered(Src, Dst, "vif", 120));

        Assert.That(_transitions, Is.Empty);
    }

    [Test]
    public void Evaluate_NodeGlobExcludesPath_DoesNotFire()
    {
        var rule = FabricP99();
        rule.Node = "db*";
        var evaluator = Evaluator(rule);

        Run(evaluator, TimeSpan.FromSeconds(20), _ => Records.Answered(Src, Dst, "fabric", 120));

        Assert.That(_transitions, Is.Empty);
    }

    [Test]
    public void Evaluate_LossInFabric_FiresLossRule()
    {
        var evaluator = Evaluator(new AlertRuleOptions
        {
            Name = "fabric-loss", Segment = "fabric", Statistic = "loss", Threshold = 10, Window = TimeSpan.FromSeconds(10),
            For = TimeSpan.FromSeconds(2), MinSamples = 10, MinBreaching = 3,
        });

        Run(evaluator, TimeSpan.FromSeconds(10), step => step % 4 == 0 ? Records.Lost(Src, Dst, "fabric") : Records.Answered(Src, Dst));

        Assert.That(_transitions.Select(t => t.To), Is.EqualTo(new[] { AlertState.Firing }));
        Assert.That(_transitions[0].Alert.Value, Is.EqualTo(25).Within(3), "one probe in four lost");
    }

    [Test]
    public void Evaluate_RunsOfLostProbes_FireFreezeRule()
    {
        var evaluator = Evaluator(new AlertRuleOptions
        {
            Name = "freeze", Segment = "*", Statistic = "freezes", Threshold = 0, Window = TimeSpan.FromSeconds(60),
            For = TimeSpan.Zero, MinSamples = 5, FreezeMinLost = 5,
        });

        // Field report 000 in small: runs of lost icmp_seq between answered ones.
        Run(evaluator, TimeSpan.FromSeconds(3), step => step is >= 10 and < 20 ? Records.Lost(Src, Dst, "vif", "request") : Records.Answered(Src, Dst));

        Assert.That(_transitions.Select(t => t.To), Is.EqualTo(new[] { AlertState.Firing }));
        Assert.That(_transitions[0].Alert.Value, Is.EqualTo(1));
    }

    [Test]
    public void SetRules_RuleRemovedWhileFiring_Resolves()
    {
        var evaluator = Evaluator(FabricP99());
        Run(evaluator, TimeSpan.FromSeconds(10), _ => Records.Answered(Src, Dst, "fabric", 120));

        evaluator.SetRules([]);
        _transitions.AddRange(evaluator.Evaluate(_time.NowNs()));

        Assert.That(_transitions.Select(t => t.To), Is.EqualTo(new[] { AlertState.Firing, AlertState.Resolved }));
    }

    [Test]
    public void Adopt_FaultGoneAfterRestart_FiresOnThroughWindowPlusForThenResolvesAsItself()
    {
        var evaluator = Evaluator(FabricP99());
        var adoptedAt = _time.NowNs();
        evaluator.Adopt([Stored("fabric-slow")], adoptedAt);

        Run(evaluator, TimeSpan.FromSeconds(20), _ => Records.Answered(Src, Dst, "fabric", 0.05));

        Assert.That(_transitions.Select(t => (t.Alert.Id, t.To)), Is.EqualTo(new[] { (7L, AlertState.Resolved) }), "resolved, with a notification, as itself");
        var resolved = _transitions[0].Alert;
        Assert.That(TimeSpan.FromTicks((resolved.ResolvedNs - adoptedAt) / 100), Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(15)), "not before Window + For: the window had to refill");
        Assert.That(resolved.Labels()["severity"], Is.EqualTo("page"), "the stored labels, not the rule's current ones");
        Assert.That(resolved.FiringNs, Is.EqualTo(1_000L), "startsAt stays the first firing");
    }

    [Test]
    public void Adopt_FaultPersistsAfterRestart_KeepsFiringWithoutASecondFiring()
    {
        var evaluator = Evaluator(FabricP99());
        evaluator.Adopt([Stored("fabric-slow")], _time.NowNs());

        Run(evaluator, TimeSpan.FromSeconds(30), _ => Records.Answered(Src, Dst, "fabric", 120));

        Assert.That(_transitions, Is.Empty);
        Assert.That(evaluator.Active.Select(a => (a.Id, a.State)), Is.EqualTo(new[] { (7L, AlertState.Firing) }));
    }

    [Test]
    public void Adopt_RuleRemovedWhileDown_ResolvesAtTheFirstEvaluation()
    {
        var evaluator = Evaluator(FabricP99());
        evaluator.Adopt([Stored("gone-rule")], _time.NowNs());

        Run(evaluator, TimeSpan.FromMilliseconds(100), _ => Records.Answered(Src, Dst, "fabric", 120));

        Assert.That(_transitions.Select(t => (t.Alert.Id, t.To, t.Alert.Labels()["alertname"])), Is.EqualTo(new[] { (7L, AlertState.Resolved, "gone-rule") }));
    }

    private static FiringAlert Stored(string rule) => new(7, rule, Src, Dst,
        new Dictionary<string, string> { ["alertname"] = rule, ["severity"] = "page", ["src"] = Src, ["dst"] = Dst }, 120, 500L, 1_000L);

    private static AlertRuleOptions Modified(AlertRuleOptions rule, Action<AlertRuleOptions> change)
    {
        change(rule);
        return rule;
    }

    private static AlertEvaluator Evaluator(AlertRuleOptions rule)
    {
        var validation = new AlertOptionsValidator().Validate(null, new AlertOptions { Rules = [rule] });
        Assert.That(validation.Failed, Is.False, validation.FailureMessage);
        var evaluator = new AlertEvaluator();
        evaluator.SetRules([AlertRule.Compile(rule)]);
        return evaluator;
    }

    private void Run(AlertEvaluator evaluator, TimeSpan duration, Func<int, Protos.ProbeRecord> probe, Action? onStep = null)
    {
        var steps = (int)(duration / TimeSpan.FromMilliseconds(100));
        for (var step = 0; step < steps; step++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(100));
            evaluator.Observe(probe(step), _time.NowNs());
            _transitions.AddRange(evaluator.Evaluate(_time.NowNs()));
            onStep?.Invoke();
        }
    }
}
