using System.Text;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Causes;

/// <summary>
/// The agents' host evidence in its own table of the results database (its own schema, created
/// on first use, apart from the probe schema): re-sent changes are ignored (a reconnect re-sends
/// what the agent holds), old rows go by age and by count.
/// </summary>
public sealed class HostEvidenceStore(LocalDatabase store, IOptions<HostEvidenceOptions> options)
{
    private const string Columns = "node, ts_ns, device, kind, name, value, previous, delta, bridge, points, forward_delay_ns";
    private readonly Lazy<bool> _schema = new(() => CreateSchema(store));

    /// <summary>Stores one heartbeat's evidence; returns how many rows were new.</summary>
    public int Add(string node, IEnumerable<HostEvidence> evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        _ = _schema.Value;
        using var connection = store.Open();
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = $"INSERT OR IGNORE INTO host_evidence({Columns}) VALUES ($node, $ts, $device, $kind, $name, $value, $previous, $delta, $bridge, $points, $fd)";
        var parameters = Columns.Split(", ").Select(c => insert.Parameters.Add("$" + c switch
        {
            "ts_ns" => "ts", "forward_delay_ns" => "fd", _ => c,
        }, c is "ts_ns" or "delta" or "forward_delay_ns" ? SqliteType.Integer : SqliteType.Text)).ToArray();
        var added = 0;
        foreach (var e in evidence)
        {
            object[] values = [node, e.TsNs, e.Device, e.Kind, e.Name, e.Value, e.Previous, e.Delta, e.Bridge, "," + string.Join(",", e.Points) + ",", e.ForwardDelayNs];
            for (var i = 0; i < values.Length; i++)
            {
                parameters[i].Value = values[i];
            }

            added += insert.ExecuteNonQuery();
        }

        transaction.Commit();
        return added;
    }

    /// <summary>Deletes what is older than the retention and the oldest rows beyond the cap.</summary>
    public void Prune(long nowNs)
    {
        _ = _schema.Value;
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM host_evidence WHERE ts_ns < $cutoff; " +
                              "DELETE FROM host_evidence WHERE id <= (SELECT MAX(id) FROM host_evidence) - $max;";
        command.Parameters.AddWithValue("$cutoff", nowNs - (long)options.Value.Retention.TotalMilliseconds * 1_000_000);
        command.Parameters.AddWithValue("$max", options.Value.MaxRows);
        command.ExecuteNonQuery();
    }

    /// <summary>
    /// Evidence of <paramref name="node"/>, oldest first: all of it, or of one device or capture
    /// point (<paramref name="iface"/>), in [since, until] (0 = unbounded); at most <paramref name="limit"/> rows (the newest).
    /// </summary>
    public (List<HostEvidence> Evidence, bool Truncated) List(string node, string? iface, long sinceNs, long untilNs, int limit, CancellationToken cancellationToken = default)
    {
        _ = _schema.Value;
        using var session = store.OpenQuery(cancellationToken);
        using var command = session.CreateCommand();
        var where = new StringBuilder("node = $node");
        command.Parameters.AddWithValue("$node", node);
        if (!string.IsNullOrEmpty(iface))
        {
            where.Append(" AND (device = $iface OR points LIKE $point ESCAPE '\\')");
            command.Parameters.AddWithValue("$iface", iface);
            command.Parameters.AddWithValue("$point", "%," + iface.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal) + ",%");
        }

        if (sinceNs != 0)
        {
            where.Append(" AND ts_ns >= $since");
            command.Parameters.AddWithValue("$since", sinceNs);
        }

        if (untilNs != 0)
        {
            where.Append(" AND ts_ns <= $until");
            command.Parameters.AddWithValue("$until", untilNs);
        }

        command.CommandText = $"SELECT {Columns} FROM host_evidence WHERE {where} ORDER BY ts_ns DESC, id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$limit", limit + 1);
        var rows = new List<HostEvidence>();
        using (var reader = command.ExecuteReader())
        {
            while (reader.Read())
            {
                rows.Add(Read(reader));
            }
        }

        var truncated = rows.Count > limit;
        if (truncated)
        {
            rows.RemoveAt(rows.Count - 1);
        }

        rows.Reverse();
        return (rows, truncated);
    }

    private static HostEvidence Read(SqliteDataReader reader)
    {
        var evidence = new HostEvidence
        {
            Node = reader.GetString(0),
            TsNs = reader.GetInt64(1),
            Device = reader.GetString(2),
            Kind = reader.GetString(3),
            Name = reader.GetString(4),
            Value = reader.GetString(5),
            Previous = reader.GetString(6),
            Delta = reader.GetInt64(7),
            Bridge = reader.GetString(8),
            ForwardDelayNs = reader.GetInt64(10),
        };
        evidence.Points.AddRange(reader.GetString(9).Split(',', StringSplitOptions.RemoveEmptyEntries));
        return evidence;
    }

    private static bool CreateSchema(LocalDatabase store)
    {
        using var connection = store.Open();
        SqliteResultsStore.Execute(connection, """
            CREATE TABLE IF NOT EXISTS host_evidence(
                id INTEGER PRIMARY KEY,
                node TEXT NOT NULL,
                ts_ns INTEGER NOT NULL,
                device TEXT NOT NULL,
                kind TEXT NOT NULL,
                name TEXT NOT NULL,
                value TEXT NOT NULL,
                previous TEXT NOT NULL,
                delta INTEGER NOT NULL,
                bridge TEXT NOT NULL,
                points TEXT NOT NULL,
                forward_delay_ns INTEGER NOT NULL,
                UNIQUE(node, ts_ns, device, name, value));
            CREATE INDEX IF NOT EXISTS ix_host_evidence_node_ts ON host_evidence(node, ts_ns);
            """);
        return true;
    }
}
