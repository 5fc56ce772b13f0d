using System.Data.Common;
using System.Globalization;
using System.Text.Json;
using HopCapture.Protos;

namespace HopCapture.Correlator.Alerts;

/// <summary>
/// What every alert store backend reads the same way: an alert row of `capture alerts` and a
/// webhook's delivery summary (columns in the order the stores select them), and which firing
/// alerts are due a re-send, from each (alert, webhook)'s outbox summary.
/// </summary>
internal static class AlertRows
{
    /// <summary>
    /// Columns: id, rule, state, labels, summary, value, unit, worst_probes, started_ns, firing_ns,
    /// resolved_ns, src, dst, pending count, dead count, last dead letter (or null).
    /// </summary>
    public static AlertRecord Record(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var record = new AlertRecord
        {
            Id = reader.GetInt64(0),
            Rule = reader.GetString(1),
            State = reader.GetString(2),
            Summary = reader.GetString(4),
            Value = reader.GetDouble(5),
            Unit = reader.GetString(6),
            StartedNs = reader.GetInt64(8),
            FiringNs = reader.GetInt64(9),
            ResolvedNs = reader.GetInt64(10),
            // An agent-down alert is about a node (stored as src, dst empty), not a path.
            Path = reader.GetString(12).Length == 0 ? reader.GetString(11) : $"{reader.GetString(11)} → {reader.GetString(12)}",
            NotificationsPending = (uint)reader.GetInt64(13),
            NotificationsDead = (uint)reader.GetInt64(14),
            DeadLetter = reader.IsDBNull(15) ? "" : reader.GetString(15),
        };
        var labels = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(3)) ?? [];
        record.Labels.Add(labels);
        record.Segment = labels.GetValueOrDefault("segment", "");
        // Alerts recorded before combined kinds had a rule matched exactly.
        record.SegmentMatch = labels.GetValueOrDefault("segment_match", "exact");
        record.Leg = labels.GetValueOrDefault("leg", "");
        foreach (var id in reader.GetString(7).Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            record.WorstProbes.Add(long.Parse(id, CultureInfo.InvariantCulture));
        }

        return record;
    }

    /// <summary>Outbox rows selected as id, webhook, idempotency_key, body, attempts.</summary>
    public static List<OutboxItem> OutboxItems(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var items = new List<OutboxItem>();
        while (reader.Read())
        {
            items.Add(new OutboxItem(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4)));
        }

        return items;
    }

    /// <summary>Alert rows selected as id, rule, src, dst, labels, value, started_ns, firing_ns.</summary>
    public static List<FiringAlert> FiringAlerts(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var list = new List<FiringAlert>();
        while (reader.Read())
        {
            var labels = JsonSerializer.Deserialize<Dictionary<string, string>>(reader.GetString(4)) ?? [];
            list.Add(new FiringAlert(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), labels, reader.GetDouble(5), reader.GetInt64(6), reader.GetInt64(7)));
        }

        return list;
    }

    /// <summary>
    /// Columns: alert_id, webhook, re-sends delivered, last re-send delivered, last delivered,
    /// pending, dead, newest is dead, newest error.
    /// </summary>
    public static AlertDelivery Delivery(DbDataReader reader)
    {
        ArgumentNullException.ThrowIfNull(reader);
        var pending = (uint)reader.GetInt64(5);
        return new AlertDelivery
        {
            Webhook = reader.GetString(1),
            Resends = (uint)reader.GetInt64(2),
            LastResentNs = reader.GetInt64(3),
            LastDeliveredNs = reader.GetInt64(4),
            Pending = pending,
            Dead = (uint)reader.GetInt64(6),
            State = pending > 0 ? "pending" : reader.GetBoolean(7) ? "dead-lettered" : "sent",
            LastError = reader.GetString(8),
        };
    }

    /// <summary>
    /// The (alert, webhook) pairs due a re-send: nothing of theirs waits in the outbox and the
    /// newest was settled at or before <paramref name="dueNs"/>; a pair with nothing queued yet
    /// (a webhook configured while the alert fired) is due at once.
    /// </summary>
    public static List<(long AlertId, string Webhook, int Resend)> DueResends(
        IReadOnlyCollection<long> firing, IReadOnlyList<string> webhooks, long dueNs,
        IReadOnlyDictionary<(long, string), (int Resends, long Pending, long Settled)> seen)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(webhooks);
        ArgumentNullException.ThrowIfNull(seen);
        var due = new List<(long, string, int)>();
        foreach (var id in firing)
        {
            foreach (var webhook in webhooks)
            {
                if (!seen.TryGetValue((id, webhook), out var s))
                {
                    due.Add((id, webhook, 1));
                }
                else if (s.Pending == 0 && s.Settled <= dueNs)
                {
                    due.Add((id, webhook, s.Resends + 1));
                }
            }
        }

        return due;
    }
}
