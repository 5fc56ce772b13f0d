using System.Globalization;
using System.Text.Json;
using HopCapture.Correlator.Alerts;
using HopCapture.Protos;
using Npgsql;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// Alert history and the notification outbox on PostgreSQL (see <see cref="IAlertStore"/>). In a
/// database several correlators share, each alert row names the correlator that raised it: each
/// one adopts (<see cref="Firing"/>) and delivers (<see cref="Due"/>) only its own, since only it
/// evaluates the rules on its probes; `capture alerts` lists everyone's.
/// </summary>
internal sealed class PostgresAlertStore(PostgresResultsStore store) : IAlertStore
{
    private const string Mine = "alert_id IN (SELECT id FROM alerts WHERE correlator = $1)";

    public void Initialize()
    {
        using var connection = store.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        PostgresResultsStore.Execute(connection, $"SELECT pg_advisory_xact_lock({PostgresSchema.DdlLock}); {PostgresSchema.CreateAlerts}");
        transaction.Commit();
    }

    public void Record(AlertTransition transition, IReadOnlyList<string> webhooks, Func<AlertInstance, string> body, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(webhooks);
        ArgumentNullException.ThrowIfNull(body);
        var alert = transition.Alert;
        using var connection = store.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        var state = AlertStates.Name(transition.To);
        var worst = string.Join(',', alert.WorstProbes.Select(id => id.ToString(CultureInfo.InvariantCulture)));
        using (var command = alert.Id == 0
            ? Command(connection, transaction,
                "INSERT INTO alerts(correlator, rule, src, dst, labels, unit, started_ns, state, summary, value, worst_probes, firing_ns, resolved_ns) " +
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
                store.Instance, alert.Rule.Name, alert.Src, alert.Dst, JsonSerializer.Serialize(alert.Labels()), alert.Unit, alert.StartedNs,
                state, alert.Summary, alert.Value, worst, alert.FiringNs, alert.ResolvedNs)
            : Command(connection, transaction,
                "UPDATE alerts SET state = $2, summary = $3, value = $4, worst_probes = $5, firing_ns = $6, resolved_ns = $7 WHERE id = $1 RETURNING id",
                alert.Id, state, alert.Summary, alert.Value, worst, alert.FiringNs, alert.ResolvedNs))
        {
            alert.Id = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
        }

        var text = body(alert);
        foreach (var webhook in webhooks)
        {
            using var command = Command(connection, transaction,
                "INSERT INTO alert_outbox(alert_id, webhook, idempotency_key, body, created_ns, next_ns) VALUES ($1, $2, $3, $4, $5, $5) ON CONFLICT (idempotency_key) DO NOTHING",
                alert.Id, webhook, $"hopcapture-alert-{alert.Id.ToString(CultureInfo.InvariantCulture)}-{state}-{webhook}", text, nowNs);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    public IReadOnlyList<OutboxItem> Due(long nowNs, int limit)
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = Command(connection, null,
            $"SELECT id, webhook, idempotency_key, body, attempts FROM alert_outbox WHERE {Mine} AND delivered_ns IS NULL AND dead_ns IS NULL AND next_ns <= $2 ORDER BY id LIMIT $3",
            store.Instance, nowNs, (long)limit);
        using var reader = command.ExecuteReader();
        return AlertRows.OutboxItems(reader);
    }

    public void MarkDelivered(long id, long nowNs) =>
        Update("UPDATE alert_outbox SET delivered_ns = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1", id, nowNs, "");

    public void MarkFailed(long id, long nextNs, string error) =>
        Update("UPDATE alert_outbox SET next_ns = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1", id, nextNs, error);

    public void MarkDead(long id, long nowNs, string error) =>
        Update("UPDATE alert_outbox SET dead_ns = $2, attempts = attempts + 1, last_error = $3 WHERE id = $1", id, nowNs, error);

    public long Undelivered() => Count("delivered_ns IS NULL AND dead_ns IS NULL");

    public long DeadLettered() => Count("dead_ns IS NOT NULL");

    public IReadOnlyList<AlertRecord> List(long sinceNs, int limit)
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = Command(connection, null, """
            SELECT a.id, a.rule, a.state, a.labels, a.summary, a.value, a.unit, a.worst_probes, a.started_ns, a.firing_ns, a.resolved_ns, a.src, a.dst,
                   (SELECT count(*) FROM alert_outbox o WHERE o.alert_id = a.id AND o.delivered_ns IS NULL AND o.dead_ns IS NULL),
                   (SELECT count(*) FROM alert_outbox o WHERE o.alert_id = a.id AND o.dead_ns IS NOT NULL),
                   (SELECT o.webhook || ': ' || o.last_error FROM alert_outbox o WHERE o.alert_id = a.id AND o.dead_ns IS NOT NULL ORDER BY o.id DESC LIMIT 1)
            FROM alerts a WHERE a.state = 'firing' OR a.resolved_ns >= $1
            ORDER BY a.state = 'firing' DESC, a.firing_ns DESC LIMIT $2
            """, sinceNs, (long)limit);
        var list = new List<AlertRecord>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                list.Add(AlertRows.Record(reader));
            }
        }

        AddDeliveries(connection, list);
        return list;
    }

    public IReadOnlyList<FiringAlert> Firing()
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = Command(connection, null,
            "SELECT id, rule, src, dst, labels, value, started_ns, firing_ns FROM alerts WHERE state = 'firing' AND correlator = $1 ORDER BY id", store.Instance);
        using var reader = command.ExecuteReader();
        return AlertRows.FiringAlerts(reader);
    }

    public IReadOnlyList<(long AlertId, string Webhook, int Resend)> DueResends(IReadOnlyCollection<long> firing, IReadOnlyList<string> webhooks, long dueNs)
    {
        ArgumentNullException.ThrowIfNull(firing);
        ArgumentNullException.ThrowIfNull(webhooks);
        if (firing.Count == 0 || webhooks.Count == 0)
        {
            return [];
        }

        var seen = new Dictionary<(long, string), (int Resends, long Pending, long Settled)>();
        using var connection = store.DataSource.OpenConnection();
        using (var command = Command(connection, null,
            "SELECT alert_id, webhook, max(resend), count(*) FILTER (WHERE delivered_ns IS NULL AND dead_ns IS NULL), max(coalesce(delivered_ns, dead_ns, 0)) " +
            "FROM alert_outbox WHERE alert_id = ANY($1) GROUP BY alert_id, webhook", firing.ToArray()))
        {
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                seen[(reader.GetInt64(0), reader.GetString(1))] = (reader.GetInt32(2), reader.GetInt64(3), reader.GetInt64(4));
            }
        }

        return AlertRows.DueResends(firing, webhooks, dueNs, seen);
    }

    public void QueueResends(IEnumerable<(long AlertId, string Webhook, int Resend, string Body)> resends, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(resends);
        using var connection = store.DataSource.OpenConnection();
        using var transaction = connection.BeginTransaction();
        foreach (var (alertId, webhook, resend, body) in resends)
        {
            using var command = Command(connection, transaction,
                "INSERT INTO alert_outbox(alert_id, webhook, idempotency_key, body, created_ns, next_ns, resend) VALUES ($1, $2, $3, $4, $5, $5, $6) " +
                "ON CONFLICT (idempotency_key) DO NOTHING",
                alertId, webhook, $"hopcapture-alert-{alertId.ToString(CultureInfo.InvariantCulture)}-firing-resend{resend.ToString(CultureInfo.InvariantCulture)}-{webhook}",
                body, nowNs, resend);
            command.ExecuteNonQuery();
        }

        transaction.Commit();
    }

    /// <summary>Per alert and webhook: the newest notification's fate, re-sends delivered, what waits.</summary>
    private static void AddDeliveries(NpgsqlConnection connection, List<AlertRecord> alerts)
    {
        if (alerts.Count == 0)
        {
            return;
        }

        var byId = alerts.ToDictionary(a => a.Id);
        using var command = Command(connection, null, """
            SELECT o.alert_id, o.webhook,
                   count(*) FILTER (WHERE o.resend > 0 AND o.delivered_ns IS NOT NULL),
                   coalesce(max(CASE WHEN o.resend > 0 THEN o.delivered_ns END), 0),
                   coalesce(max(o.delivered_ns), 0),
                   count(*) FILTER (WHERE o.delivered_ns IS NULL AND o.dead_ns IS NULL),
                   count(*) FILTER (WHERE o.dead_ns IS NOT NULL),
                   (SELECT x.dead_ns IS NOT NULL FROM alert_outbox x WHERE x.alert_id = o.alert_id AND x.webhook = o.webhook ORDER BY x.id DESC LIMIT 1),
                   (SELECT x.last_error FROM alert_outbox x WHERE x.alert_id = o.alert_id AND x.webhook = o.webhook ORDER BY x.id DESC LIMIT 1)
            FROM alert_outbox o WHERE o.alert_id = ANY($1)
            GROUP BY o.alert_id, o.webhook ORDER BY o.alert_id, o.webhook
            """, byId.Keys.ToArray());
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            byId[reader.GetInt64(0)].Deliveries.Add(AlertRows.Delivery(reader));
        }
    }

    /// <summary>A command with positional parameters $1, $2, … typed by their values.</summary>
    private static NpgsqlCommand Command(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        return command;
    }

    private long Count(string where)
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = Command(connection, null, $"SELECT count(*) FROM alert_outbox WHERE {Mine} AND {where}", store.Instance);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private void Update(string sql, long id, long nowNs, string error)
    {
        using var connection = store.DataSource.OpenConnection();
        using var command = Command(connection, null, sql, id, nowNs, error);
        command.ExecuteNonQuery();
    }
}
