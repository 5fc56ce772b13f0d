using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace HopCapture.Tests.Alerts;

public sealed class AgentDownMonitorTests
{
    private static readonly AgentDownOptions Options = new() { After = TimeSpan.FromMinutes(1), Severity = "page" };

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));

    private long Now => _time.NowNs();

    [Test]
    public void Evaluate_AgentSilentPastAfter_FiresOnceWithNodeLabel()
    {
        var monitor = new AgentDownMonitor();
        var lastSeen = Now;

        _time.Advance(TimeSpan.FromSeconds(60));
        var atThreshold = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now);
        _time.Advance(TimeSpan.FromSeconds(5));
        var fired = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now);
        _time.Advance(TimeSpan.FromSeconds(5));
        var again = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now);

        Assert.Multiple(() =>
        {
            Assert.That(atThreshold, Is.Empty, "exactly After is not yet longer than After");
            Assert.That(fired.Select(t => t.To), Is.EqualTo(new[] { AlertState.Firing }));
            Assert.That(again, Is.Empty, "a firing alert is recorded once");
            var alert = fired[0].Alert;
            Assert.That(alert.Labels(), Is.EqualTo(new Dictionary<string, string>
            {
                ["alertname"] = "hopcapture-agent-down", ["severity"] = "page", ["node"] = "hv1",
            }));
            Assert.That(alert.Path, Is.EqualTo("hv1"));
            Assert.That(alert.Unit, Is.EqualTo("s"));
            Assert.That(alert.Value, Is.EqualTo(70), "updated while firing");
            Assert.That(alert.Summary, Does.StartWith("agent hv1 has not reported for 70 s (> 60 s)"));
            Assert.That(monitor.Active, Has.Exactly(1).Items);
        });
    }

    [Test]
    public void Evaluate_AgentReportsAgain_Resolves()
    {
        var monitor = new AgentDownMonitor();
        var lastSeen = Now;
        _time.Advance(TimeSpan.FromSeconds(90));
        var fired = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now);

        _time.Advance(TimeSpan.FromSeconds(1));
        var resolved = monitor.Evaluate([new AgentSeen("hv1", Now)], Options, Now);

        Assert.Multiple(() =>
        {
            Assert.That(resolved.Select(t => t.To), Is.EqualTo(new[] { AlertState.Resolved }));
            Assert.That(resolved[0].Alert, Is.SameAs(fired[0].Alert), "the same alert (same id in the store) resolves");
            Assert.That(resolved[0].Alert.ResolvedNs, Is.EqualTo(Now));
            Assert.That(resolved[0].Alert.Summary, Is.EqualTo("agent hv1 reports again after 90 s of silence"));
            Assert.That(monitor.Active, Is.Empty);
        });
    }

    [Test]
    public void Evaluate_SeveralInstancesOfANode_TheNewestSightingCounts()
    {
        var monitor = new AgentDownMonitor();
        var old = Now;
        _time.Advance(TimeSpan.FromMinutes(5));

        var transitions = monitor.Evaluate([new AgentSeen("hv1", old), new AgentSeen("hv1", Now - 1_000_000_000)], Options, Now);

        Assert.That(transitions, Is.Empty);
    }

    [Test]
    public void Evaluate_DisabledOrNodeNotWatched_NoAlertAndFiringOnesResolve()
    {
        var monitor = new AgentDownMonitor();
        var lastSeen = Now;
        _time.Advance(TimeSpan.FromMinutes(2));
        Assert.That(monitor.Evaluate([new AgentSeen("hv1", lastSeen), new AgentSeen("old-hv", lastSeen)], Options, Now), Has.Count.EqualTo(2));

        var narrowed = monitor.Evaluate(
            [new AgentSeen("hv1", lastSeen), new AgentSeen("old-hv", lastSeen)],
            new AgentDownOptions { After = Options.After, Nodes = "hv*" },
            Now);
        var disabled = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], new AgentDownOptions { Enabled = false }, Now);

        Assert.Multiple(() =>
        {
            Assert.That(narrowed.Select(t => (t.Alert.Node, t.To)), Is.EqualTo(new[] { ((string?)"old-hv", AlertState.Resolved) }));
            Assert.That(disabled.Select(t => (t.Alert.Node, t.To)), Is.EqualTo(new[] { ((string?)"hv1", AlertState.Resolved) }));
        });
    }

    [Test]
    public void Evaluate_CorrelatorJustStarted_RememberedAgentGetsAfterToReconnect()
    {
        var lastSeen = Now;
        _time.Advance(TimeSpan.FromHours(1));
        var monitor = new AgentDownMonitor { GraceFromNs = Now };

        _time.Advance(TimeSpan.FromSeconds(30));
        var inGrace = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now);
        _time.Advance(TimeSpan.FromSeconds(31));
        var after = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now);

        Assert.Multiple(() =>
        {
            Assert.That(inGrace, Is.Empty, "nobody could report to a correlator that was down");
            Assert.That(after.Select(t => t.To), Is.EqualTo(new[] { AlertState.Firing }));
            Assert.That(after[0].Alert.Value, Is.EqualTo(3661), "the value is the whole silence");
        });
    }

    [Test]
    public void Adopt_AlertFiringInThePreviousRun_KeepsFiringThroughTheGraceAndResolvesAsItself()
    {
        var lastSeen = Now;
        _time.Advance(TimeSpan.FromMinutes(10));
        var monitor = new AgentDownMonitor { GraceFromNs = Now };
        monitor.Adopt([new FiringAlert(7, AgentDownMonitor.AlertName, "hv1", "", new Dictionary<string, string>(), 60, lastSeen + 60_000_000_000, lastSeen + 61_000_000_000)], Options);

        _time.Advance(TimeSpan.FromSeconds(1));
        var stillDown = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now);
        _time.Advance(TimeSpan.FromSeconds(1));
        var back = monitor.Evaluate([new AgentSeen("hv1", Now)], Options, Now);

        Assert.Multiple(() =>
        {
            Assert.That(stillDown, Is.Empty, "no second firing for an alert that already paged");
            Assert.That(back.Select(t => (t.Alert.Id, t.To)), Is.EqualTo(new[] { (7L, AlertState.Resolved) }));
        });
    }

    [Test]
    public void Payload_AgentDown_IsAnAlertmanagerAlertWithNodeAndSeconds()
    {
        var monitor = new AgentDownMonitor();
        var lastSeen = Now;
        _time.Advance(TimeSpan.FromSeconds(75));
        var alert = monitor.Evaluate([new AgentSeen("hv1", lastSeen)], Options, Now)[0].Alert;

        var json = AlertmanagerPayload.Build(alert, "");

        Assert.That(json, Does.Contain("\"node\":\"hv1\"").And.Contain("\"value\":\"75 s\"").And.Contain("\"threshold\":\"60 s\"").And.Not.Contain("endsAt"));
    }
}
