using System.Diagnostics;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Alerts;

/// <summary>
/// The real Alertmanager (resolve_timeout 5 s) as the correlator's webhook, with a fabric fault
/// held for longer than that. What on-call sees is Alertmanager's active list (GET /api/v2/alerts):
/// the alert must be there, once and as itself, the whole time the fault lasts, and leave it soon
/// after the fault clears. Before issue 13 it vanished after resolve_timeout.
/// </summary>
[NonParallelizable]
public sealed class AlertmanagerContractTests
{
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(5);

    /// <summary>Fault cleared → gone from Alertmanager: rule Window (1 s) + evaluation + delivery, with room for a loaded machine.</summary>
    private static readonly TimeSpan ResolveBound = TimeSpan.FromSeconds(4);

    private static Dictionary<string, string?> Config(string url, string resendInterval) => FabricAlertConfig.For(url, resendInterval);

    [Test]
    [CancelAfter(90_000)]
    public async Task Alertmanager_FaultHeldPastResolveTimeout_ActiveThroughoutThenResolvedWithinBound(CancellationToken cancellationToken)
    {
        await using var alertmanager = await AlertmanagerProcess.StartAsync(ResolveTimeout, cancellationToken);
        await using var correlator = await TestCorrelator.StartAsync(overrides: Config(alertmanager.AlertsUrl, "00:00:01"), cancellationToken: cancellationToken);
        await using var feed = new FabricFeed(correlator.Services.GetRequiredService<StoredProbeBus>());

        var first = await LearnedAsync(alertmanager, TimeSpan.FromSeconds(10), cancellationToken);
        await HeldAsync(alertmanager, first, ResolveTimeout * 2.5, cancellationToken);

        feed.Faulty = false;
        var cleared = Stopwatch.StartNew();
        while ((await alertmanager.ActiveAsync(cancellationToken)).Count > 0)
        {
            Assert.That(cleared.Elapsed, Is.LessThan(ResolveBound), $"still active in Alertmanager {ResolveBound.TotalSeconds} s after the fault cleared");
            await Task.Delay(100, cancellationToken);
        }

        var listed = await correlator.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Alerts.Select(a => a.State), Is.EqualTo(new[] { "resolved" }));
            Assert.That(listed.Alerts[0].Deliveries[0].Resends, Is.GreaterThanOrEqualTo(8), "re-sent about once a second for 12.5 s");
        });
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Alertmanager_RestartedMidFault_LearnsTheAlertAgainFromTheNextResend(CancellationToken cancellationToken)
    {
        await using var alertmanager = await AlertmanagerProcess.StartAsync(ResolveTimeout, cancellationToken);
        await using var correlator = await TestCorrelator.StartAsync(overrides: Config(alertmanager.AlertsUrl, "00:00:02"), cancellationToken: cancellationToken);
        await using var feed = new FabricFeed(correlator.Services.GetRequiredService<StoredProbeBus>());
        var first = await LearnedAsync(alertmanager, TimeSpan.FromSeconds(10), cancellationToken);

        await alertmanager.RestartAsync(cancellationToken);

        // ResendInterval (2 s) + MaxBackoff (0.3 s) of a re-send that hit the stopped Alertmanager, plus slack.
        var again = await LearnedAsync(alertmanager, TimeSpan.FromSeconds(5), cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(again.Fingerprint, Is.EqualTo(first.Fingerprint), "the same labels: the same alert");
            Assert.That(again.StartsAt, Is.EqualTo(first.StartsAt));
        });
        await HeldAsync(alertmanager, first, ResolveTimeout * 1.5, cancellationToken);
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Alertmanager_CorrelatorRestartedMidFault_AlertNeitherLostNorDuplicated(CancellationToken cancellationToken)
    {
        await using var alertmanager = await AlertmanagerProcess.StartAsync(ResolveTimeout, cancellationToken);
        var config = Config(alertmanager.AlertsUrl, "00:00:02");
        await using var first = await TestCorrelator.StartAsync(overrides: config, cancellationToken: cancellationToken);
        await using var feed = new FabricFeed(first.Services.GetRequiredService<StoredProbeBus>());
        var learned = await LearnedAsync(alertmanager, TimeSpan.FromSeconds(10), cancellationToken);
        var id = (await first.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken)).Alerts.Single().Id;

        // Watch Alertmanager across the restart: the last endsAt (4 × 2 s) has to carry it over.
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var watch = HeldAsync(alertmanager, learned, TimeSpan.FromSeconds(60), watching.Token);
        feed.Bus = null;
        await first.StopAsync();
        await using var second = await TestCorrelator.StartAsync(first.DatabasePath, config, cancellationToken: cancellationToken);
        feed.Bus = second.Services.GetRequiredService<StoredProbeBus>();
        var resent = await TestCorrelator.EventuallyAsync(
            token => second.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: token).ResponseAsync,
            r => r.Alerts.Count == 1 && r.Alerts[0].Deliveries.Count == 1 && r.Alerts[0].Deliveries[0].LastDeliveredNs > NowNs() - 1_000_000_000L && r.Alerts[0].Deliveries[0].Resends >= 3,
            "re-sends from the restarted correlator", TimeSpan.FromSeconds(20));
        await Task.Delay(ResolveTimeout, cancellationToken);
        Assert.That(watch.IsCompleted, Is.False, watch.Exception?.InnerException?.Message ?? "the watch ended early");
        await watching.CancelAsync();
        await watch;

        Assert.That(resent.Alerts.Single().Id, Is.EqualTo(id), "the restarted correlator carries on with the same alert");
        feed.Faulty = false;
        await TestCorrelator.EventuallyAsync(token => alertmanager.ActiveAsync(token), a => a.Count == 0, "resolved in Alertmanager after the fault cleared", ResolveBound);
        var listed = await second.Query.ListAlertsAsync(new ListAlertsRequest(), cancellationToken: cancellationToken);
        Assert.That(listed.Alerts.Select(a => (a.Id, a.State)), Is.EqualTo(new[] { (id, "resolved") }));
    }

    private static long NowNs() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;

    /// <summary>Waits until Alertmanager lists the fabric alert (alone) and returns it.</summary>
    private static async Task<AlertmanagerAlert> LearnedAsync(AlertmanagerProcess alertmanager, TimeSpan within, CancellationToken cancellationToken)
    {
        var active = await TestCorrelator.EventuallyAsync(token => alertmanager.ActiveAsync(token), a => a.Count > 0, "the alert in Alertmanager", within);
        Assert.That(active.Single().AlertName, Is.EqualTo(FabricAlertConfig.Rule));
        Assert.That(active.Single().Labels["src"], Is.EqualTo(FabricAlertConfig.Src));
        return active.Single();
    }

    /// <summary>For <paramref name="duration"/> (or until cancelled), Alertmanager holds exactly this alert, every 200 ms.</summary>
    private static async Task HeldAsync(AlertmanagerProcess alertmanager, AlertmanagerAlert expected, TimeSpan duration, CancellationToken cancellationToken)
    {
        var held = Stopwatch.StartNew();
        while (held.Elapsed < duration && !cancellationToken.IsCancellationRequested)
        {
            var active = await alertmanager.ActiveAsync(CancellationToken.None);
            Assert.That(active.Select(a => (a.Fingerprint, a.StartsAt)), Is.EqualTo(new[] { (expected.Fingerprint, expected.StartsAt) }),
                $"Alertmanager's active list {held.Elapsed.TotalSeconds:0.0} s into the fault");
            try
            {
                await Task.Delay(200, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }
}
