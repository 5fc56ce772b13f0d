using System.Globalization;
using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture alerts</c>: what is paging now first, then what recently stopped.</summary>
public static class AlertsView
{
    public static IRenderable Build(ListAlertsResponse response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Alerts.Count == 0)
        {
            return Tables.Line("no alerts pending, firing or resolved in this window");
        }

        var table = Tables.Create("id", "state", "rule", "path", "segment", "leg", ">value", "since", "resolved", "worst probes", "notify");
        foreach (var alert in response.Alerts.OrderBy(a => Rank(a.State)).ThenByDescending(a => Math.Max(a.FiringNs, a.StartedNs)))
        {
            table.Row(
                alert.Id == 0 ? Formats.Missing : alert.Id.ToString(CultureInfo.InvariantCulture),
                alert.State,
                alert.Rule,
                alert.Path,
                Segment(alert),
                alert.Leg,
                Value(alert),
                Formats.Ago(alert.FiringNs != 0 ? alert.FiringNs : alert.StartedNs, now),
                alert.ResolvedNs == 0 ? Formats.Missing : Formats.Ago(alert.ResolvedNs, now),
                alert.WorstProbes.Count == 0 ? Formats.Missing : string.Join(", ", alert.WorstProbes.Take(3)),
                Notify(alert));
        }

        var firing = response.Alerts.Count(a => a.State == "firing");
        var pending = response.Alerts.Count(a => a.State == "pending");
        return new Rows(table, Tables.Line($"{firing} firing, {pending} pending, {response.Alerts.Count - firing - pending} resolved"));
    }

    /// <summary>
    /// The rule's segment and how combined kinds counted: "fabric (+combined)" also took nic+fabric
    /// and the like (a capture point missing), "fabric (exact)" only fabric itself.
    /// </summary>
    public static string Segment(AlertRecord alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (alert.Segment is "" or "*")
        {
            return alert.Segment.Length == 0 ? Formats.Missing : "*";
        }

        return alert.SegmentMatch == "exact" ? $"{alert.Segment} (exact)" : $"{alert.Segment} (+combined)";
    }

    /// <summary>"sent", "2 queued", or "dead-lettered (am: HTTP 400 Bad Request)" when a receiver refused it for good.</summary>
    public static string Notify(AlertRecord alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        var state = alert.NotificationsPending == 0 ? "sent" : $"{alert.NotificationsPending} queued";
        return alert.NotificationsDead == 0 ? state : $"{alert.NotificationsDead} dead-lettered ({alert.DeadLetter})" + (alert.NotificationsPending == 0 ? "" : ", " + state);
    }

    public static string Value(AlertRecord alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        return alert.Unit switch
        {
            "ms" => Formats.Duration((long)(alert.Value * 1e6)),
            "%" => alert.Value.ToString("0.0", CultureInfo.InvariantCulture) + " %",
            _ => alert.Value.ToString("0", CultureInfo.InvariantCulture) + " " + alert.Unit,
        };
    }

    private static int Rank(string state) => state switch
    {
        "firing" => 0,
        "pending" => 1,
        _ => 2,
    };
}
