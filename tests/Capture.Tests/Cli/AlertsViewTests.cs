using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Tests.Cli;

/// <summary><c>capture alerts</c>' notify column: where each alert's notifications stand, per webhook (issue 13).</summary>
public sealed class AlertsViewTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private static long Ago(int seconds) => (Now - TimeSpan.FromSeconds(seconds) - DateTimeOffset.UnixEpoch).Ticks * 100;

    [Test]
    public void Notify_TwoWebhooks_OneLineEachWithResendsPendingAndDeadLetters()
    {
        var alert = new AlertRecord();
        alert.Deliveries.Add(new AlertDelivery { Webhook = "am", State = "sent", Resends = 12, LastResentNs = Ago(40), LastDeliveredNs = Ago(40) });
        alert.Deliveries.Add(new AlertDelivery { Webhook = "chat", State = "pending", Pending = 2, Dead = 1, LastError = "HTTP 503 Service Unavailable" });

        var text = AlertsView.Notify(alert, Now);

        Assert.That(text.Split('\n'), Is.EqualTo(new[]
        {
            "am: sent, re-sent 12× (last 40s ago)",
            "chat: 2 pending (HTTP 503 Service Unavailable), 1 dead-lettered",
        }));
    }

    [Test]
    public void Notify_DeadLettered_SaysWhy()
    {
        var alert = new AlertRecord();
        alert.Deliveries.Add(new AlertDelivery { Webhook = "am", State = "dead-lettered", Dead = 1, LastError = "HTTP 400 Bad Request" });

        Assert.That(AlertsView.Notify(alert, Now), Is.EqualTo("am: dead-lettered (HTTP 400 Bad Request)"));
    }
}
