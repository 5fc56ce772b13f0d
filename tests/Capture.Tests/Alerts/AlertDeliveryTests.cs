using Microsoft.Extensions.DependencyInjection;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Alerts;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Alerts;

/// <summary>
/// A real correlator with a fabric rule and a webhook to a real HTTP receiver. Probes enter at
/// the stored-probe fan-out (where the engine's results go), so timing is the test's to choose.
/// </summary>
public sealed class AlertDeliveryTests
{
    private const string Src = FabricAlertConfig.Src;
    private const string Dst = FabricAlertConfig.Dst;

    private static Dictionary<string, string?> Config(string webhookUrl) => FabricAlertConfig.For(webhookUrl);

    [Test]
    [CancelAfter(60_000)]
    public async Task Webhook_FabricDelayThenRecovery_ReceiverGetsFiringAndResolvedOnce(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var correlator = await TestCorrelator.StartAsync(overrides: Config(receiver.Url), cancellationToken: cancellationToken);
        var watch = correlator.Services.GetRequiredService<StoredProbeBus>();

        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 120), () => !receiver.Received.IsEmpty, "the firing notification", cancellationToken);
        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 0.05), () => receiver.Received.Count >= 2, "the resolved notification", cancellationToken);

        var received = receiver.Received.ToArray();
        Assert.That(received, Has.Length.EqualTo(2));
        Assert.That(received[0].Label("alertname"), Is.EqualTo("fabric-slow"));
        Assert.That(received[0].Label("segment"), Is.EqualTo("fabric"));
        Assert.That(received[0].Label("src"), Is.EqualTo(Src));
        Assert.That(received[0].Label("severity"), Is.EqualTo("page"));
        Assert.That(received[0].Resolved, Is.False);
        Assert.That(received[0].Annotation("worst_probes"), Is.Not.Empty);
        Assert.That(received[0].Annotation("summary"), Does.Contain("fabric p99 120.00 ms"));
        Assert.That(received[1].Resolved, Is.True);
        Assert.That(received[0].IdempotencyKey, Does.EndWith("-firing-am"));
        Assert.That(received[1].IdempotencyKey, Does.EndWith("-resolved-am"));

        // The receiver answers before the dispatcher marks the outbox row: poll for the mark.
        var alerts = await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
            r => r.Alerts.Count == 1 && r.Alerts[0].NotificationsPending == 0, "both notifications marked delivered");
        Assert.That(alerts.Alerts.Single().State, Is.EqualTo("resolved"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Webhook_ReceiverDownWhileFiring_DeliversOnceWhenItComesUp(CancellationToken cancellationToken)
    {
        var port = LoopbackPorts.Free();
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: Config($"http://127.0.0.1:{port}/api/v2/alerts"), cancellationToken: cancellationToken);
        var watch = correlator.Services.GetRequiredService<StoredProbeBus>();
        var dispatcher = correlator.Services.GetRequiredService<WebhookDispatcher>();

        // Fire while nobody listens: the outbox keeps it and rounds keep failing.
        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 120), () => dispatcher.FailedRounds >= 3, "failed deliveries", cancellationToken);
        var listed = await correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
        Assert.That(listed.Alerts.Single().State, Is.EqualTo("firing"));
        Assert.That(listed.Alerts.Single().NotificationsPending, Is.EqualTo(1));

        await using var receiver = await WebhookReceiver.StartAsync(port);
        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 120), () => !receiver.Received.IsEmpty, "the late delivery", cancellationToken);
        // The receiver answers before the dispatcher marks the outbox row: wait for the mark.
        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 120), () => dispatcher.Delivered >= 1, "the delivery to be recorded", cancellationToken);
        var delivered = dispatcher.Delivered;

        // A duplicate would come from a later round: let the dispatcher poll the outbox a few more times.
        var rounds = dispatcher.Rounds;
        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 120), () => dispatcher.Rounds >= rounds + 3, "three more delivery rounds", cancellationToken);

        Assert.That(receiver.Received.Count, Is.EqualTo(1), "exactly once");
        Assert.That(delivered, Is.EqualTo(1));
        Assert.That(receiver.Received.Single().Resolved, Is.False);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Webhook_ReceiverRefuses4xx_DeadLetteredAfterMaxRejectionsAndTheQueueMovesOn(CancellationToken cancellationToken)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Status = 400;
        var config = Config(receiver.Url);
        config["Correlator:Alerts:Webhooks:0:MaxRejections"] = "3";
        await using var correlator = await TestCorrelator.StartAsync(overrides: config, cancellationToken: cancellationToken);
        var watch = correlator.Services.GetRequiredService<StoredProbeBus>();
        var dispatcher = correlator.Services.GetRequiredService<WebhookDispatcher>();

        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 120), () => dispatcher.DeadLettered >= 1, "the firing notification to be dead-lettered", cancellationToken);
        var firingKey = receiver.Attempts.First();
        var listed = await correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
        var alert = listed.Alerts.Single();
        Assert.Multiple(() =>
        {
            Assert.That(receiver.Attempts.Count(k => k == firingKey), Is.EqualTo(3), "refused three times, then given up: not retried for ever");
            Assert.That(alert.NotificationsDead, Is.EqualTo(1));
            Assert.That(alert.NotificationsPending, Is.EqualTo(0));
            Assert.That(alert.DeadLetter, Is.EqualTo("am: HTTP 400 Bad Request"));
        });

        // The receiver is fixed: the next state change of the same webhook is delivered (nothing blocks the queue).
        receiver.Status = 200;
        await FeedUntilAsync(watch, () => Records.Answered(Src, Dst, "fabric", 0.05), () => !receiver.Received.IsEmpty, "the resolved notification", cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(receiver.Received.Single().Resolved, Is.True);
            Assert.That(receiver.Attempts.Count(k => k == firingKey), Is.EqualTo(3), "a dead letter is never sent again");
        });
    }

    private static Task FeedUntilAsync(StoredProbeBus watch, Func<ProbeRecord> probe, Func<bool> done, string what, CancellationToken cancellationToken) =>
        FabricAlertConfig.FeedUntilAsync(watch, probe, done, what, cancellationToken);
}
