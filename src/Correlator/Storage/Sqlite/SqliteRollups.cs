using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// The rollup tables, one per width (rollup_1m, rollup_1h), keyed by path, bucket and verdict
/// (WITHOUT ROWID: the key is the row's order, so a window of one path is one range) with an
/// index on the bucket for all-path windows and for retention's range delete.
/// </summary>
public static class SqliteRollups
{
    public const string Columns = RollupColumns.All;

    private const string KeyWhere =
        "src = $src AND dst = $dst AND bucket_ns = $bucket AND kind = $kind AND leg = $leg AND lost_in = $lost_in AND lost_leg = $lost_leg AND lost_after = $lost_after";

    public static string Table(RollupWidth width) => width == RollupWidth.Minute ? "rollup_1m" : "rollup_1h";

    public static void Create(SqliteConnection connection, SqliteTransaction transaction)
    {
        foreach (var width in new[] { RollupWidth.Minute, RollupWidth.Hour })
        {
            var table = Table(width);
            SqliteResultsStore.Execute(connection, $"""
                CREATE TABLE IF NOT EXISTS {table}(
                    src TEXT NOT NULL, dst TEXT NOT NULL, bucket_ns INTEGER NOT NULL,
                    kind TEXT NOT NULL, leg TEXT NOT NULL, lost_in TEXT NOT NULL, lost_leg TEXT NOT NULL, lost_after TEXT NOT NULL,
                    probes INTEGER NOT NULL, lost INTEGER NOT NULL, slow INTEGER NOT NULL, cost_ns INTEGER NOT NULL, slow_cost_ns INTEGER NOT NULL,
                    first_ts_ns INTEGER NOT NULL, last_ts_ns INTEGER NOT NULL, worst_id INTEGER NOT NULL, worst_rtt_ns INTEGER NOT NULL,
                    histogram BLOB NOT NULL,
                    PRIMARY KEY(src, dst, bucket_ns, kind, leg, lost_in, lost_leg, lost_after)) WITHOUT ROWID;
                CREATE INDEX IF NOT EXISTS ix_{table}_bucket ON {table}(bucket_ns);
                """, transaction);
        }
    }

    public static RollupRow Read(SqliteDataReader reader) => RollupColumns.Read(reader);

    /// <summary>The stored row with <paramref name="key"/>'s identity, or null.</summary>
    public static RollupRow? Load(SqliteConnection connection, SqliteTransaction? transaction, RollupWidth width, RollupRow key)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT {Columns} FROM {Table(width)} WHERE {KeyWhere}";
        BindKey(command, key);
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    /// <summary>The newest bucket stored for <paramref name="width"/> (long.MinValue when none).</summary>
    public static long Newest(SqliteConnection connection, SqliteTransaction? transaction, RollupWidth width)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT max(bucket_ns) FROM {Table(width)}";
        return command.ExecuteScalar() is long newest ? newest : long.MinValue;
    }

    /// <summary>Writes the rows whole (insert or replace), in the caller's transaction (a session keeps a <see cref="RollupSaver"/> instead).</summary>
    public static void Save(SqliteConnection connection, SqliteTransaction transaction, IReadOnlyList<(RollupWidth Width, RollupRow Row)> rows)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        using var saver = new RollupSaver(connection);
        saver.Save(rows);
    }

    /// <summary>Deletes the rows of buckets before <paramref name="cutoffNs"/>, every width, as ranges; returns how many went.</summary>
    public static int DeleteBefore(SqliteConnection connection, long cutoffNs)
    {
        var deleted = 0;
        foreach (var width in new[] { RollupWidth.Minute, RollupWidth.Hour })
        {
            using var command = connection.CreateCommand();
            command.CommandText = $"DELETE FROM {Table(width)} WHERE bucket_ns < $cutoff";
            command.Parameters.AddWithValue("$cutoff", cutoffNs);
            deleted += command.ExecuteNonQuery();
        }

        return deleted;
    }

    private static void BindKey(SqliteCommand command, RollupRow key)
    {
        command.Parameters.AddWithValue("$src", key.Src);
        command.Parameters.AddWithValue("$dst", key.Dst);
        command.Parameters.AddWithValue("$bucket", key.BucketNs);
        command.Parameters.AddWithValue("$kind", key.Kind);
        command.Parameters.AddWithValue("$leg", key.Leg);
        command.Parameters.AddWithValue("$lost_in", key.LostIn);
        command.Parameters.AddWithValue("$lost_leg", key.LostLeg);
        command.Parameters.AddWithValue("$lost_after", key.LostAfter);
    }
}
