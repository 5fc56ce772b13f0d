using System.Globalization;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Alerts;

/// <summary>
/// Alertmanager's client contract, seen by a real HTTP receiver: a firing alert is re-sent every
/// ResendInterval with the same labels and a future endsAt, resolved once with its real end time,
/// and a correlator restart neither drops nor silently closes what was firing.
/// </summary>
public sealed class AlertResendTests
{
    private static Dictionary<string, string?> Config(string url, string resendInterval = "00:00:00.500") => FabricAlertConfig.For(url, resendInterval);

    [Test]
    [CancelAfter(60_000)]
    public async Task Resend_FaultHeld_FiringResentWithSameLabelsAndFutureEndsAtThenResolvedOnce(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var correlator = await TestCorrelator.StartAsync(overrides: Config(receiver.Url), cancellationToken: cancellationToken);
        await using var feed = new FabricFeed(correlator.Services.GetRequiredService<StoredProbeBus>());

        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(receiver.Received.Count), n => n >= 4, "the firing notification and three re-sends");
        feed.Faulty = false;
        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(receiver.Received.Any(r => r.Resolved)), r => r, "the resolved notification");
        var listed = await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
            r => r.Alerts.Count == 1 && r.Alerts[0].Deliveries.Count == 1 && r.Alerts[0].Deliveries[0].Pending == 0, "every notification marked delivered");

        var received = receiver.Received.ToArray();
        var firing = received.TakeWhile(r => !r.Resolved).ToArray();
        var delivery = listed.Alerts[0].Deliveries[0];
        Assert.Multiple(() =>
        {
            Assert.That(received.Count(r => r.Resolved), Is.EqualTo(1), "resolved once");
            Assert.That(received[^1].Resolved, Is.True, "nothing firing after the resolution");
            Assert.That(firing.Select(LabelSet).Distinct(), Has.Exactly(1).Items, "the same identifying labels on every re-send");
            Assert.That(received.Select(r => r.Body[0].GetProperty("startsAt").GetString()).Distinct(), Has.Exactly(1).Items, "startsAt is the firing time, always");
            Assert.That(LabelSet(received[^1]), Is.EqualTo(LabelSet(firing[0])), "the resolution names the same alert");
            foreach (var r in firing)
            {
                // endsAt = send time + 4 × ResendInterval (2 s): in the future when it arrives.
                Assert.That(r.EndsAt!.Value - r.ReceivedAt, Is.InRange(TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(2.1)), r.IdempotencyKey);
            }

            Assert.That(received[^1].EndsAt!.Value, Is.LessThan(received[^1].ReceivedAt), "the real end time, in the past");
            Assert.That(firing.Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(firing.Length), "each re-send has its own idempotency key");
            Assert.That(firing.Skip(1).Select(r => r.IdempotencyKey), Has.All.Contains("-firing-resend"));
            Assert.That(delivery.Webhook, Is.EqualTo("am"));
            Assert.That(delivery.State, Is.EqualTo("sent"));
            Assert.That(delivery.Resends, Is.EqualTo((uint)(firing.Length - 1)));
            Assert.That(delivery.LastResentNs, Is.GreaterThan(listed.Alerts[0].FiringNs));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Restart_FiringAlertAndFaultGone_ResolvedWithANotificationAsItself(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var first = await TestCorrelator.StartAsync(overrides: Config(receiver.Url, "00:01:00"), cancellationToken: cancellationToken);
        long id;
        await using (var feed = new FabricFeed(first.Services.GetRequiredService<StoredProbeBus>()))
        {
            id = (await FiringAsync(first)).Id;
        }

        await first.StopAsync();
        await using var second = await TestCorrelator.StartAsync(first.DatabasePath, Config(receiver.Url, "00:01:00"), cancellationToken: cancellationToken);
        await using var healthy = new FabricFeed(second.Services.GetRequiredService<StoredProbeBus>()) { Faulty = false };

        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(receiver.Received.Count(r => r.Resolved)), n => n == 1, "the resolved notification after the restart");
        var listed = await second.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
        var received = receiver.Received.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(received.Select(r => r.Resolved), Is.EqualTo(new[] { false, true }), "firing, then resolved: nothing closed silently, nothing paged twice");
            Assert.That(received[1].Annotation("alert_id"), Is.EqualTo(id.ToString(CultureInfo.InvariantCulture)));
            Assert.That(LabelSet(received[1]), Is.EqualTo(LabelSet(received[0])));
            Assert.That(listed.Alerts.Select(a => (a.Id, a.State)), Is.EqualTo(new[] { (id, "resolved") }));
            Assert.That(listed.Alerts[0].Summary, Does.Not.Contain("closed at correlator restart"));
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Restart_FiringAlertAndFaultPersists_SameAlertResentNeverFiredTwice(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var first = await TestCorrelator.StartAsync(overrides: Config(receiver.Url), cancellationToken: cancellationToken);
        await using var feed = new FabricFeed(first.Services.GetRequiredService<StoredProbeBus>());
        var id = (await FiringAsync(first)).Id;

        feed.Bus = null;
        await first.StopAsync();
        await using var second = await TestCorrelator.StartAsync(first.DatabasePath, Config(receiver.Url), cancellationToken: cancellationToken);
        var before = receiver.Received.Count;
        feed.Bus = second.Services.GetRequiredService<StoredProbeBus>();

        // Past the adopted alert's grace (Window + For = 1.3 s) with the fault on: re-sends only.
        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(receiver.Received.Count), n => n >= before + 4, "four re-sends from the restarted correlator");
        var listed = await second.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
        var received = receiver.Received.ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(received.Any(r => r.Resolved), Is.False, "never resolved while the fault holds");
            Assert.That(received.Select(r => r.Annotation("alert_id")).Distinct(), Is.EqualTo(new[] { id.ToString(CultureInfo.InvariantCulture) }), "one alert, before and after");
            Assert.That(received.Count(r => r.IdempotencyKey.EndsWith("-firing-am", StringComparison.Ordinal)), Is.EqualTo(1), "fired once");
            Assert.That(received.Select(LabelSet).Distinct(), Has.Exactly(1).Items);
            Assert.That(listed.Alerts.Select(a => (a.Id, a.State)), Is.EqualTo(new[] { (id, "firing") }));
        });
    }

    private static async Task<AlertRecord> FiringAsync(TestCorrelator correlator)
    {
        var listed = await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
            r => r.Alerts.Any(a => a.State == "firing" && a.NotificationsPending == 0), "the alert firing and delivered");
        return listed.Alerts.Single();
    }

    private static string LabelSet(ReceivedAlert alert) => alert.Body[0].GetProperty("labels").GetRawText();
}
