using System.Globalization;
using Google.Protobuf;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;

namespace HopCapture.Correlator.Incidents;

/// <summary>
/// Incidents in a table of their own beside the probes (created here, like the alert tables, so
/// it does not touch the probes schema): the searchable columns plus the whole record, traffic
/// windows included, as one protobuf blob. An incident is written once, when its context is in.
/// </summary>
public sealed class IncidentStore(LocalDatabase store)
{
    public void Initialize()
    {
        using var connection = store.Open();
        SqliteResultsStore.Execute(connection, """
            CREATE TABLE IF NOT EXISTS incidents(
                id INTEGER PRIMARY KEY,
                opened_ns INTEGER NOT NULL,
                reason TEXT NOT NULL,
                segment TEXT NOT NULL,
                from_point TEXT NOT NULL,
                to_point TEXT NOT NULL,
                body BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_incidents_opened ON incidents(opened_ns);
            """);
    }

    /// <summary>Stores <paramref name="record"/> and sets its id.</summary>
    public long Add(IncidentRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        using var connection = store.Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO incidents(opened_ns, reason, segment, from_point, to_point, body) VALUES ($opened, $reason, $segment, $from, $to, x'') RETURNING id";
        command.Parameters.AddWithValue("$opened", record.OpenedNs);
        command.Parameters.AddWithValue("$reason", record.Reason);
        command.Parameters.AddWithValue("$segment", record.Segment);
        command.Parameters.AddWithValue("$from", record.FromPoint);
        command.Parameters.AddWithValue("$to", record.ToPoint);
        record.Id = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);

        // The id is part of the body: written once it is known, in the same transaction.
        using var update = connection.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE incidents SET body = $body WHERE id = $id";
        update.Parameters.AddWithValue("$body", record.ToByteArray());
        update.Parameters.AddWithValue("$id", record.Id);
        update.ExecuteNonQuery();
        transaction.Commit();
        return record.Id;
    }

    /// <summary>Incidents opened since <paramref name="sinceNs"/>, newest first, without their traffic windows.</summary>
    public IReadOnlyList<IncidentRecord> List(long sinceNs, int limit)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM incidents WHERE opened_ns >= $since ORDER BY id DESC LIMIT $limit";
        command.Parameters.AddWithValue("$since", sinceNs);
        command.Parameters.AddWithValue("$limit", limit);
        using var reader = command.ExecuteReader();
        var list = new List<IncidentRecord>();
        while (reader.Read())
        {
            var record = IncidentRecord.Parser.ParseFrom((byte[])reader[0]);
            record.Windows.Clear();
            list.Add(record);
        }

        return list;
    }

    public IncidentRecord? Get(long id)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT body FROM incidents WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return command.ExecuteScalar() is byte[] body ? IncidentRecord.Parser.ParseFrom(body) : null;
    }
}
