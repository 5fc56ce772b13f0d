using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Shared;

namespace HopCapture.Tests.Alerts;

/// <summary>A real correlator, a real agent stream and a real HTTP receiver: an agent goes quiet and comes back.</summary>
public sealed class AgentDownAlertTests
{
    private static Dictionary<string, string?> Config(string webhookUrl) => new()
    {
        ["Correlator:Alerts:EvaluationInterval"] = "00:00:00.100",
        ["Correlator:Alerts:AgentDown:After"] = "00:00:01",
        ["Correlator:Alerts:Webhooks:0:Name"] = "am",
        ["Correlator:Alerts:Webhooks:0:Url"] = webhookUrl,
        ["Correlator:Alerts:Webhooks:0:RetryDelay"] = "00:00:00.050",
        ["Correlator:Alerts:Webhooks:0:MaxBackoff"] = "00:00:00.300",
    };

    [Test]
    [CancelAfter(60_000)]
    public async Task AgentDown_AgentDisconnectsThenReconnects_ReceiverGetsFiringThenResolved(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: Config(receiver.Url),
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

    [Test]
    [CancelAfter(60_000)]
    public async Task AgentDown_CorrelatorRestartsWhileFiring_SameAlertResolvesWhenTheAgentReturns(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var directory = Path.Combine(Path.GetTempPath(), "hopcapture-test-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var database = Path.Combine(directory, "hopcapture.db");
            long id;
            await using (var first = await TestCorrelator.StartAsync(database, Config(receiver.Url), cancellationToken: cancellationToken))
            {
                await using (await TestAgent.ConnectAsync(first, Report003.HelloFor("nc1")))
                {
                }

                var firing = await TestCorrelator.EventuallyAsync(
                    token => first.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
                    r => r.Alerts.Any(a => a.State == "firing" && a.NotificationsPending == 0), "the agent-down alert firing and delivered");
                id = firing.Alerts.Single().Id;
            }

            await using var second = await TestCorrelator.StartAsync(database, Config(receiver.Url), cancellationToken: cancellationToken);
            var afterRestart = await second.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
            Assert.That(afterRestart.Alerts.Single(a => a.Id == id).State, Is.EqualTo("firing"), "not closed at the restart: the agent is still away");

            await using (await TestAgent.ConnectAsync(second, Report003.HelloFor("nc1")))
            {
                await TestCorrelator.EventuallyAsync(
                    _ => Task.FromResult(receiver.Received.Count),
                    count => count >= 2, "the resolved notification");
            }

            var received = receiver.Received.ToArray();
            var resolved = await second.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
            Assert.Multiple(() =>
            {
                Assert.That(received.Take(2).Select(r => r.Resolved), Is.EqualTo(new[] { false, true }), "firing, then resolved: the restart paged nobody again");
                Assert.That(received[1].Annotation("alert_id"), Is.EqualTo(id.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                Assert.That(resolved.Alerts.Where(a => a.Rule == "hopcapture-agent-down").Select(a => (a.Id, a.State)), Does.Contain((id, "resolved")));
            });
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
