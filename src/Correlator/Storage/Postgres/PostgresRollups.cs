using Npgsql;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// The rollup tables on PostgreSQL (rollup_1m, rollup_1h), keyed like SQLite's. The writer saves
/// its changed rows whole in one statement (arrays unnested, upsert on the key). Rows are replaced,
/// not added to: a path's rollups stay right as long as one correlator ingests that path, which
/// correlation needs anyway (its points must meet in one engine).
/// </summary>
internal static class PostgresRollups
{
    public const string Columns = RollupColumns.All;

    private const string Key = "src, dst, bucket_ns, kind, leg, lost_in, lost_leg, lost_after";

    private static readonly RollupWidth[] Widths = [RollupWidth.Minute, RollupWidth.Hour];

    public static string Table(RollupWidth width) => width == RollupWidth.Minute ? "rollup_1m" : "rollup_1h";

    public static RollupRow Read(NpgsqlDataReader reader) => RollupColumns.Read(reader);

    /// <summary>The newest bucket stored for <paramref name="width"/> (long.MinValue when none): no row newer exists to load.</summary>
    public static long Newest(NpgsqlConnection connection, NpgsqlTransaction? transaction, RollupWidth width)
    {
        using var command = new NpgsqlCommand($"SELECT max(bucket_ns) FROM {Table(width)}", connection, transaction);
        return command.ExecuteScalar() is long newest ? newest : long.MinValue;
    }

    /// <summary>The stored row with <paramref name="key"/>'s identity, or null.</summary>
    public static RollupRow? Load(NpgsqlConnection connection, NpgsqlTransaction? transaction, RollupWidth width, RollupRow key)
    {
        using var command = new NpgsqlCommand(
            $"SELECT {Columns} FROM {Table(width)} WHERE src = $1 AND dst = $2 AND bucket_ns = $3 AND kind = $4 AND leg = $5 AND lost_in = $6 AND lost_leg = $7 AND lost_after = $8",
            connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Src });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Dst });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = key.BucketNs });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Kind });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.Leg });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.LostIn });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.LostLeg });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = key.LostAfter });
        using var reader = command.ExecuteReader();
        return reader.Read() ? Read(reader) : null;
    }

    /// <summary>Writes the rows whole (insert or replace), in the caller's transaction, one statement per width.</summary>
    public static void Save(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<(RollupWidth Width, RollupRow Row)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var group in rows.GroupBy(static r => r.Width))
        {
            var list = group.Select(static r => r.Row).ToList();
            var updates = string.Join(", ", Columns.Split(", ").Skip(8).Select(static c => $"{c} = excluded.{c}"));
            using var command = new NpgsqlCommand(
                $"INSERT INTO {Table(group.Key)}({Columns}) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], " +
                "$9::bigint[], $10::bigint[], $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bytea[]) " +
                $"ON CONFLICT ({Key}) DO UPDATE SET {updates}",
                connection, transaction);
            Add(command, list, static r => r.Src);
            Add(command, list, static r => r.Dst);
            Add(command, list, static r => r.BucketNs);
            Add(command, list, static r => r.Kind);
            Add(command, list, static r => r.Leg);
            Add(command, list, static r => r.LostIn);
            Add(command, list, static r => r.LostLeg);
            Add(command, list, static r => r.LostAfter);
            Add(command, list, static r => r.Probes);
            Add(command, list, static r => r.Lost);
            Add(command, list, static r => r.Slow);
            Add(command, list, static r => r.CostNs);
            Add(command, list, static r => r.SlowCostNs);
            Add(command, list, static r => r.FirstTsNs);
            Add(command, list, static r => r.LastTsNs);
            Add(command, list, static r => r.WorstId);
            Add(command, list, static r => r.WorstRttNs);
            Add(command, list, static r => r.Rtt.ToBytes());
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Deletes the rows of buckets before <paramref name="cutoffNs"/>, every width; returns how many went.</summary>
    public static int DeleteBefore(NpgsqlConnection connection, long cutoffNs)
    {
        var deleted = 0;
        foreach (var width in Widths)
        {
            using var command = new NpgsqlCommand($"DELETE FROM {Table(width)} WHERE bucket_ns < $1", connection);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = cutoffNs });
            deleted += command.ExecuteNonQuery();
        }

        return deleted;
    }

    private static void Add<T>(NpgsqlCommand command, List<RollupRow> rows, Func<RollupRow, T> column) =>
        command.Parameters.Add(new NpgsqlParameter<T[]> { TypedValue = rows.ConvertAll(r => column(r)).ToArray() });
}
