using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// Schema v4 → v5: each partition of whole serialised records is rewritten in the compact
/// layout (<see cref="ProbeCodec"/>), ids kept, and its probes counted into the rollups. One
/// transaction per partition: a start interrupted midway goes on from the partitions left (a
/// partition still having the record column is one).
/// </summary>
internal static class CompactMigration
{
    public static void Run(SqliteConnection connection)
    {
        foreach (var partition in ProbePartitions.List(connection).Where(p => HasRecordColumn(connection, p.Name)).ToList())
        {
            using var transaction = connection.BeginTransaction();
            var old = partition.Name + "_v4";
            SqliteResultsStore.Execute(connection, $"""
                ALTER TABLE {partition.Name} RENAME TO {old};
                DELETE FROM probe_partitions WHERE name = '{partition.Name}';
                """, transaction);
            // Indexes follow the renamed table; drop them so the new day tables can take their names.
            foreach (var index in Names(connection, transaction, $"SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = '{old}' AND sql IS NOT NULL"))
            {
                SqliteResultsStore.Execute(connection, $"DROP INDEX {index};", transaction);
            }

            SqliteTransaction? current = transaction;
            var rollups = new RollupBook((width, key) => SqliteRollups.Load(connection, current, width, key), width => SqliteRollups.Newest(connection, current, width));
            using (var append = new ProbeAppender(connection, transaction))
            using (var read = connection.CreateCommand())
            {
                read.Transaction = transaction;
                read.CommandText = $"SELECT id, arrival_ns, record FROM {old} ORDER BY id";
                using var reader = read.ExecuteReader();
                while (reader.Read())
                {
                    var record = SqliteResultsStore.ReadRecord(reader.GetInt64(0), (byte[])reader[2]);
                    record.ArrivalNs = reader.GetInt64(1);
                    append.Append(record, record.Id, transaction);
                    rollups.Add(record);
                }
            }

            SqliteRollups.Save(connection, transaction, rollups.TakeDirty());
            SqliteResultsStore.Execute(connection, $"""
                UPDATE probe_ids SET floor = max(floor, coalesce((SELECT max(id) FROM {old}), 0));
                DROP TABLE {old};
                """, transaction);
            transaction.Commit();
        }
    }

    private static bool HasRecordColumn(SqliteConnection connection, string table) =>
        Names(connection, null, $"SELECT name FROM pragma_table_info('{table}') WHERE name = 'record'").Count > 0;

    private static List<string> Names(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var names = new List<string>();
        while (reader.Read())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
