using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Shared;

namespace HopCapture.Tests.Alerts;

/// <summary>A real correlator, a real agent stream and a real HTTP receiver: an agent goes quiet and comes back.</summary>
public sealed class AgentDownAlertTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task AgentDown_AgentDisconnectsThenReconnects_ReceiverGetsFiringThenResolved(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?>
            {
                ["Correlator:Alerts:EvaluationInterval"] = "00:00:00.100",
                ["Correlator:Alerts:AgentDown:After"] = "00:00:01",
                ["Correlator:Alerts:Webhooks:0:Name"] = "am",
                ["Correlator:Alerts:Webhooks:0:Url"] = receiver.Url,
                ["Correlator:Alerts:Webhooks:0:RetryDelay"] = "00:00:00.050",
                ["Correlator:Alerts:Webhooks:0:MaxBackoff"] = "00:00:00.300",
            },
            cancellationToken: cancellationToken);

        await using (var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("nc1")))
        {
            await agent.SendHeartbeatAsync(new Heartbeat());
        }

        var firing = await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
            r => r.Alerts.Any(a => a.State == "firing") && !receiver.Received.IsEmpty, "the agent-down alert firing and notified");
        var listed = firing.Alerts.Single();
        Assert.Multiple(() =>
        {
            Assert.That(listed.Rule, Is.EqualTo("hopcapture-agent-down"));
            Assert.That(listed.Path, Is.EqualTo("nc1"), "capture alerts shows the node where a path alert shows src → dst");
            Assert.That(listed.Labels["node"], Is.EqualTo("nc1"));
            Assert.That(listed.Unit, Is.EqualTo("s"));
            Assert.That(listed.Summary, Does.StartWith("agent nc1 has not reported for"));
        });

        await using (await TestAgent.ConnectAsync(correlator, Report003.HelloFor("nc1")))
        {
            await TestCorrelator.EventuallyAsync(
                _ => Task.FromResult(receiver.Received.Count),
                count => count >= 2, "the resolved notification after the agent reconnected");
        }

        var received = receiver.Received.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(received[0].Label("alertname"), Is.EqualTo("hopcapture-agent-down"));
            Assert.That(received[0].Label("node"), Is.EqualTo("nc1"));
            Assert.That(received[0].Label("severity"), Is.EqualTo("page"));
            Assert.That(received[0].Resolved, Is.False);
            Assert.That(received[1].Label("node"), Is.EqualTo("nc1"));
            Assert.That(received[1].Resolved, Is.True);
            Assert.That(received[1].IdempotencyKey, Does.EndWith("-resolved-am"));
        });
    }
}
