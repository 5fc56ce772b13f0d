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
                Notify(alert, now));
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

    /// <summary>
    /// Per webhook: "am: sent, re-sent 3× (last 12s ago)", "am: 2 pending (HTTP 503 …)" or
    /// "am: dead-lettered (HTTP 400 Bad Request)"; several webhooks on separate lines.
    /// </summary>
    public static string Notify(AlertRecord alert, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(alert);
        if (alert.Deliveries.Count == 0)
        {
            return Formats.Missing;
        }

        return string.Join('\n', alert.Deliveries.Select(d =>
        {
            var state = d.State switch
            {
                "pending" => $"{d.Pending} pending" + (d.LastError.Length == 0 ? "" : $" ({d.LastError})"),
                "dead-lettered" => $"dead-lettered ({d.LastError})",
                _ => "sent",
            };
            var resent = d.Resends == 0 ? "" : $", re-sent {d.Resends}× (last {Formats.Ago(d.LastResentNs, now)})";
            var dead = d.Dead == 0 || d.State == "dead-lettered" ? "" : $", {d.Dead} dead-lettered";
            return $"{d.Webhook}: {state}{resent}{dead}";
        }));
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
