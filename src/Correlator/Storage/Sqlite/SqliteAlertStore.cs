using System.Globalization;
using System.Text.Json;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;

using HopCapture.Correlator.Alerts;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>Alert history and the notification outbox in the SQLite results file (see <see cref="IAlertStore"/>).</summary>
public sealed class SqliteAlertStore(SqliteResultsStore store) : IAlertStore
{
    /// <summary>Own tables, created if missing; they do not touch the probes schema version.</summary>
    public void Initialize()
    {
        using var connection = store.Open();
        SqliteResultsStore.Execute(connection, """
            CREATE TABLE IF NOT EXISTS alerts(
                id INTEGER PRIMARY KEY,
                rule TEXT NOT NULL,
                src TEXT NOT NULL,
                dst TEXT NOT NULL,
                state TEXT NOT NULL,
                labels TEXT NOT NULL,
                summary TEXT NOT NULL,
                value REAL NOT NULL,
                unit TEXT NOT NULL,
                worst_probes TEXT NOT NULL,
                started_ns INTEGER NOT NULL,
                firing_ns INTEGER NOT NULL,
                resolved_ns INTEGER NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_alerts_state ON alerts(state, resolved_ns);
            CREATE TABLE IF NOT EXISTS alert_outbox(
                id INTEGER PRIMARY KEY,
                alert_id INTEGER NOT NULL,
                webhook TEXT NOT NULL,
                idempotency_key TEXT NOT NULL UNIQUE,
                body TEXT NOT NULL,
                created_ns INTEGER NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_ns INTEGER NOT NULL,
                delivered_ns INTEGER,
                last_error TEXT NOT NULL DEFAULT '');
            CREATE INDEX IF NOT EXISTS ix_outbox_due ON alert_outbox(delivered_ns, next_ns);
            CREATE INDEX IF NOT EXISTS ix_outbox_alert ON alert_outbox(alert_id, webhook);
            """);

        // Dead letters (issue 11) and re-sends (issue 13) came after the first outbox: add the columns to older databases.
        AddColumn(connection, "dead_ns", "dead_ns INTEGER");
        AddColumn(connection, "resend", "resend INTEGER NOT NULL DEFAULT 0");
    }

    /// <summary>Records a transition and queues one notification per webhook, atomically.</summary>
    public void Record(AlertTransition transition, IReadOnlyList<string> webhooks, Func<AlertInstance, string> body, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(webhooks);
        ArgumentNullException.ThrowIfNull(body);
        var alert = transition.Alert;
        using var connection = store.Open();
        using var transaction = connection.BeginTransaction();
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            if (alert.Id == 0)
            {
                command.CommandText = "INSERT INTO alerts(rule, src, dst, state, labels, summary, value, unit, worst_probes, started_ns, firing_ns, resolved_ns) " +
                                      "VALUES ($rule, $src, $dst, $state, $labels, $summary, $value, $unit, $worst, $started, $firing, $resolved) RETURNING id";
                command.Parameters.AddWithValue("$rule", alert.Rule.Name);
                command.Parameters.AddWithValue("$src", alert.Src);
                command.Parameters.AddWithValue("$dst", alert.Dst);
                command.Parameters.AddWithValue("$labels", JsonSerializer.Serialize(alert.Labels()));
                command.Parameters.AddWithValue("$unit", alert.Unit);
                command.Parameters.AddWithValue("$started", alert.StartedNs);
            }
            else
            {
                command.CommandText = "UPDATE alerts SET state = $state, summary = $summary, value = $value, worst_probes = $worst, " +
                                      "firing_ns = $firing, resolved_ns = $resolved WHERE id = $id RETURNING id";
                command.Parameters.AddWithValue("$id", alert.Id);
            }

            command.Parameters.AddWithValue("$state", AlertStates.Name(transition.To));
            command.Parameters.AddWithValue("$summary", alert.Summary);
            command.Parameters.AddWithValue("$value", alert.Value);
            command.Parameters.AddWithValue("$worst", string.Join(',', alert.WorstProbes.Select(id => id.ToString(CultureInfo.InvariantCulture))));
            command.Parameters.AddWithValue("$firing", alert.FiringNs);
            command.Parameters.AddWithValue("$resolved", alert.ResolvedNs);
            alert.Id = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var text = body(alert);
        foreach (var webhook in webhooks)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT OR IGNORE INTO alert_outbox(alert_id, webhook, idempotency_key, body, created_ns, next_ns) " +
                                  "VALUES ($alert, $webhook, $key, $body, $now, $now)";
            command.Parameters.AddWithValue("$alert", alert.Id);
            command.Parameters.AddWithValue("$webhook", webhook);
            command.Parameters.AddWithValue("$key", $"hopcapture-alert-{alert.Id.ToString(CultureInfo.InvariantCulture)}-{AlertStates.Name(transition.To)}-{webhook}");
            command.Parameters.AddWithValue("$body", text);
            command.Parameters.AddWithValue("$now", nowNs);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>Undelivered notifications that are due, oldest first.</summary>
    public IReadOnlyList<OutboxItem> Due(long nowNs, int limit)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, webhook, idempotency_key, body, attempts FROM alert_outbox " +
                              "WHERE delivered_ns IS NULL AND dead_ns IS NULL AND next_ns <= $now ORDER BY id LIMIT $limit";
        command.Parameters.AddWithValue("$now", nowNs);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        return AlertRows.OutboxItems(reader);
    }

    public void MarkDelivered(long id, long nowNs) =>
        Update("UPDATE alert_outbox SET delivered_ns = $now, attempts = attempts + 1, last_error = '' WHERE id = $id", id, nowNs, "");

    public void MarkFailed(long id, long nextNs, string error) =>
        Update("UPDATE alert_outbox SET next_ns = $now, attempts = attempts + 1, last_error = $error WHERE id = $id", id, nextNs, error);

    /// <summary>Gives up on a notification the receiver keeps refusing: kept for `capture alerts`, never sent again.</summary>
    public void MarkDead(long id, long nowNs, string error) =>
        Update("UPDATE alert_outbox SET dead_ns = $now, attempts = attempts + 1, last_error = $error WHERE id = $id", id, nowNs, error);

    /// <summary>Notifications not yet delivered (nor dead-lettered), all webhooks.</summary>
    public long Undelivered() => Count("delivered_ns IS NULL AND dead_ns IS NULL");

    /// <summary>Notifications given up on because their receiver refused them.</summary>
    public long DeadLettered() => Count("dead_ns IS NOT NULL");

    /// <summary>Firing alerts, and resolved ones since <paramref name="sinceNs"/>, newest first.</summary>
    public IReadOnlyList<AlertRecord> List(long sinceNs, int limit)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT a.id, a.rule, a.state, a.labels, a.summary, a.value, a.unit, a.worst_probes, a.started_ns, a.firing_ns, a.resolved_ns, a.src, a.dst,
                   (SELECT COUNT(*) FROM alert_outbox o WHERE o.alert_id = a.id AND o.delivered_ns IS NULL AND o.dead_ns IS NULL),
                   (SELECT COUNT(*) FROM alert_outbox o WHERE o.alert_id = a.id AND o.dead_ns IS NOT NULL),
                   (SELECT o.webhook || ': ' || o.last_error FROM alert_outbox o WHERE o.alert_id = a.id AND o.dead_ns IS NOT NULL ORDER BY o.id DESC LIMIT 1)
            FROM alerts a WHERE a.state = 'firing' OR a.resolved_ns >= $since
            ORDER BY a.state = 'firing' DESC, a.firing_ns DESC LIMIT $limit
            """;
        command.Parameters.AddWithValue("$since", sinceNs);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var list = new List<AlertRecord>();
        while (reader.Read())
        {
            list.Add(AlertRows.Record(reader));
        }

        AddDeliveries(connection, list);
        return list;
    }

    /// <summary>Per alert and webhook: the newest notification's fate, re-sends delivered, what waits.</summary>
    private static void AddDeliveries(SqliteConnection connection, List<AlertRecord> alerts)
    {
        if (alerts.Count == 0)
        {
            return;
        }

        var byId = alerts.ToDictionary(a => a.Id);
        using var command = connection.CreateCommand();
        command.CommandText = """
            SELECT o.alert_id, o.webhook,
                   SUM(o.resend > 0 AND o.delivered_ns IS NOT NULL),
                   COALESCE(MAX(CASE WHEN o.resend > 0 THEN o.delivered_ns END), 0),
                   COALESCE(MAX(o.delivered_ns), 0),
                   SUM(o.delivered_ns IS NULL AND o.dead_ns IS NULL),
                   SUM(o.dead_ns IS NOT NULL),
                   (SELECT x.dead_ns IS NOT NULL FROM alert_outbox x WHERE x.alert_id = o.alert_id AND x.webhook = o.webhook ORDER BY x.id DESC LIMIT 1),
                   (SELECT x.last_error FROM alert_outbox x WHERE x.alert_id = o.alert_id AND x.webhook = o.webhook ORDER BY x.id DESC LIMIT 1)
            FROM alert_outbox o WHERE o.alert_id IN (SELECT value FROM json_each($ids))
            GROUP BY o.alert_id, o.webhook ORDER BY o.alert_id, o.webhook
            """;
        command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(byId.Keys));
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            byId[reader.GetInt64(0)].Deliveries.Add(AlertRows.Delivery(reader));
        }
    }

    /// <summary>
    /// Alerts left firing by the previous run, for the evaluator and the agent-down monitor to
    /// adopt: they re-send them and resolve them with a notification, never silently.
    /// </summary>
    public IReadOnlyList<FiringAlert> Firing()
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, rule, src, dst, labels, value, started_ns, firing_ns FROM alerts WHERE state = 'firing' ORDER BY id";
        using var reader = command.ExecuteReader();
        return AlertRows.FiringAlerts(reader);
    }

    /// <summary>
    /// Which of <paramref name="firing"/> are due a re-send to which webhook: nothing of theirs waits
    /// in the outbox (a re-send never queues behind an undelivered notification of the same alert)
    /// and the newest one was settled (delivered or dead-lettered) at or before <paramref name="dueNs"/>.
    /// A webhook that has nothing for the alert (configured while it fired) is due at once.
    /// </summary>
    public IReadOnlyList<(long AlertId, string Webhook, int Resend)> DueResends(IReadOnlyCollection<long> firing, IReadOnlyList<string> webhooks, long dueNs)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(webhooks);
        if (firing.Count == 0 || webhooks.Count == 0)
        {
            return [];
        }

        var seen = new Dictionary<(long, string), (int Resends, long Pending, long Settled)>();
        using var connection = store.Open();
        using (var command = connection.CreateCommand())
        {
            command.CommandText = "SELECT alert_id, webhook, MAX(resend), SUM(delivered_ns IS NULL AND dead_ns IS NULL), MAX(COALESCE(delivered_ns, dead_ns, 0)) " +
                                  "FROM alert_outbox WHERE alert_id IN (SELECT value FROM json_each($ids)) GROUP BY alert_id, webhook";
            command.Parameters.AddWithValue("$ids", JsonSerializer.Serialize(firing));
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                seen[(reader.GetInt64(0), reader.GetString(1))] = (reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4));
            }
        }

        return AlertRows.DueResends(firing, webhooks, dueNs, seen);
    }

    /// <summary>Queues re-sends of firing alerts (at the outbox's tail, so per webhook they keep their place before a later resolution).</summary>
    public void QueueResends(IEnumerable<(long AlertId, string Webhook, int Resend, string Body)> resends, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(resends);
        using var connection = store.Open();
        using var transaction = connection.BeginTransaction();
        foreach (var (alertId, webhook, resend, body) in resends)
        {
            using var command = connection.CreateCommand();
            command.Transaction = transaction;
            command.CommandText = "INSERT OR IGNORE INTO alert_outbox(alert_id, webhook, idempotency_key, body, created_ns, next_ns, resend) " +
                                  "VALUES ($alert, $webhook, $key, $body, $now, $now, $resend)";
            command.Parameters.AddWithValue("$alert", alertId);
            command.Parameters.AddWithValue("$webhook", webhook);
            command.Parameters.AddWithValue("$key", $"hopcapture-alert-{alertId.ToString(CultureInfo.InvariantCulture)}-firing-resend{resend.ToString(CultureInfo.InvariantCulture)}-{webhook}");
            command.Parameters.AddWithValue("$body", body);
            command.Parameters.AddWithValue("$now", nowNs);
            command.Parameters.AddWithValue("$resend", resend);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    private long Count(string where)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*) FROM alert_outbox WHERE " + where;
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private static void AddColumn(SqliteConnection connection, string name, string definition)
    {
        using var columns = connection.CreateCommand();
        columns.CommandText = "SELECT COUNT(*) FROM pragma_table_info('alert_outbox') WHERE name = $name";
        columns.Parameters.AddWithValue("$name", name);
        if (Convert.ToInt64(columns.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
        {
            SqliteResultsStore.Execute(connection, $"ALTER TABLE alert_outbox ADD COLUMN {definition};");
        }
    }

    private void Update(string sql, long id, long nowNs, string error)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$id", id);
        command.Parameters.AddWithValue("$now", nowNs);
        command.Parameters.AddWithValue("$error", error);
        command.ExecuteNonQuery();
    }
}
