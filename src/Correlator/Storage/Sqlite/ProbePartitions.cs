using System.Globalization;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>One partition of the probes: a table holding the probes that arrived in [StartNs, EndNs).</summary>
public sealed record ProbePartition(string Name, long StartNs, long EndNs)
{
    /// <summary>Whether the partition may hold probes of the window (0 = open end).</summary>
    public bool Overlaps(long sinceNs, long untilNs) => (sinceNs == 0 || EndNs > sinceNs) && (untilNs == 0 || StartNs <= untilNs);
}

/// <summary>
/// The probes are time-partitioned: one table per UTC day of arrival time ("probes_20260131"),
/// listed in <c>probe_partitions</c>, so retention drops whole days (DROP TABLE) instead of
/// deleting rows one by one, and a query reads only the days its window touches. A v3 file's
/// single <c>probes</c> table becomes a partition spanning its rows' times (v4), which the v5
/// rewrite (<see cref="CompactMigration"/>) files into day partitions.
/// </summary>
public static class ProbePartitions
{
    private const long DayNs = TimeSpan.TicksPerDay * 100;

    /// <summary>The columns every partition has, in the order the inserter binds them.</summary>
    public const string Columns =
        "id, shape, icmp_id, icmp_seq, first_ts_ns, arrival_ns, rtt_ns, answered, verdict_cost_ns, numbers";

    /// <summary>Start (Unix ns) of the UTC day <paramref name="unixNs"/> falls in.</summary>
    public static long DayStart(long unixNs) => unixNs - (((unixNs % DayNs) + DayNs) % DayNs);

    /// <summary>"probes_20260131" for the day starting at <paramref name="dayStartNs"/>.</summary>
    public static string NameOf(long dayStartNs) =>
        "probes_" + DateTimeOffset.UnixEpoch.AddTicks(dayStartNs / 100).ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>Every partition, oldest first.</summary>
    public static List<ProbePartition> List(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT name, start_ns, end_ns FROM probe_partitions ORDER BY end_ns, start_ns";
        using var reader = command.ExecuteReader();
        var partitions = new List<ProbePartition>();
        while (reader.Read())
        {
            partitions.Add(new ProbePartition(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return partitions;
    }

    /// <summary>The partitions a window [<paramref name="sinceNs"/>, <paramref name="untilNs"/>] touches (0 = open).</summary>
    public static List<string> For(SqliteConnection connection, long sinceNs, long untilNs, SqliteTransaction? transaction = null) =>
        List(connection, transaction).Where(p => p.Overlaps(sinceNs, untilNs)).Select(p => p.Name).ToList();

    /// <summary>
    /// "SELECT cols FROM a WHERE w UNION ALL SELECT cols FROM b WHERE w": one SELECT per partition,
    /// so each uses its own indexes; parameters are shared.
    /// </summary>
    public static string Union(IReadOnlyList<string> partitions, string columns, string where)
    {
        ArgumentNullException.ThrowIfNull(partitions);
        return string.Join(" UNION ALL ", partitions.Select(p => $"SELECT {columns} FROM {p} WHERE {where}"));
    }

    /// <summary>
    /// "(SELECT columns FROM p1 UNION ALL …)" over every partition, usable after FROM by readers
    /// outside the query layer that want all rows (the benchmark, tests, an operator's sqlite3).
    /// </summary>
    public static string AllRows(SqliteConnection connection)
    {
        var partitions = List(connection).Select(static p => p.Name).ToList();
        return partitions.Count == 0
            ? "(SELECT " + string.Join(", ", Columns.Split(',').Select(static c => "NULL AS " + c.Trim())) + " WHERE 0)"
            : "(" + Union(partitions, Columns, "1 = 1") + ")";
    }

    /// <summary>Creates the day partition of <paramref name="dayStartNs"/> (in the caller's transaction) unless it exists.</summary>
    public static ProbePartition Create(SqliteConnection connection, long dayStartNs, SqliteTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var name = NameOf(dayStartNs);
        // The compact layout (schema v5, see ProbeCodec): path, verdict and loss place live in the
        // shape; only what queries filter or sort on is a column. No rtt index: "slowest first"
        // sorts the window's rows (an index cost ~14 bytes a probe).
        SqliteResultsStore.Execute(connection, $"""
            CREATE TABLE IF NOT EXISTS {name}(
                id INTEGER PRIMARY KEY,
                shape INTEGER NOT NULL,
                icmp_id INTEGER NOT NULL,
                icmp_seq INTEGER NOT NULL,
                first_ts_ns INTEGER NOT NULL,
                arrival_ns INTEGER NOT NULL,
                rtt_ns INTEGER NOT NULL,
                answered INTEGER NOT NULL,
                verdict_cost_ns INTEGER NOT NULL,
                numbers BLOB NOT NULL);
            CREATE INDEX IF NOT EXISTS ix_{name}_shape_time ON {name}(shape, first_ts_ns);
            CREATE INDEX IF NOT EXISTS ix_{name}_arrival ON {name}(arrival_ns);
            INSERT INTO probe_partitions(name, start_ns, end_ns) VALUES ('{name}', {dayStartNs}, {dayStartNs + DayNs})
                ON CONFLICT(name) DO NOTHING;
            """, transaction);
        return new ProbePartition(name, dayStartNs, dayStartNs + DayNs);
    }

    /// <summary>
    /// Drops a partition; the largest id it held is remembered first so ids stay unique even when
    /// every partition is gone.
    /// </summary>
    public static void Drop(SqliteConnection connection, string name)
    {
        ArgumentNullException.ThrowIfNull(connection);
        using var transaction = connection.BeginTransaction();
        SqliteResultsStore.Execute(connection, $"""
            UPDATE probe_ids SET floor = max(floor, coalesce((SELECT max(id) FROM {name}), 0));
            DROP TABLE {name};
            DELETE FROM probe_partitions WHERE name = '{name}';
            """, transaction);
        transaction.Commit();
    }

    /// <summary>The largest id ever given to a probe (0 on a new file).</summary>
    public static long MaxId(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var sql = "SELECT floor AS m FROM probe_ids" + string.Concat(List(connection, transaction).Select(p => $" UNION ALL SELECT max(id) FROM {p.Name}"));
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT coalesce(max(m), 0) FROM ({sql})";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// Schema v4 on a v3 file (in its migration transaction): the catalog and id floor, and the
    /// single probes table kept as the legacy partition. Its rows get first_ts_ns as their arrival
    /// time, the best there is for probes stored before the correlator recorded arrivals; an empty
    /// one is dropped.
    /// </summary>
    internal static void Migrate(SqliteConnection connection, SqliteTransaction transaction)
    {
        SqliteResultsStore.Execute(connection, """
            CREATE TABLE probe_partitions(
                name TEXT PRIMARY KEY,
                start_ns INTEGER NOT NULL,
                end_ns INTEGER NOT NULL);
            CREATE TABLE probe_ids(
                id INTEGER PRIMARY KEY CHECK (id = 1),
                floor INTEGER NOT NULL);
            INSERT INTO probe_ids(id, floor) VALUES (1, 0);
            """, transaction);
        using var count = connection.CreateCommand();
        count.Transaction = transaction;
        count.CommandText = "SELECT count(*) FROM probes";
        if (Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
        {
            SqliteResultsStore.Execute(connection, "DROP TABLE probes;", transaction);
            return;
        }

        SqliteResultsStore.Execute(connection, """
            ALTER TABLE probes ADD COLUMN arrival_ns INTEGER NOT NULL DEFAULT 0;
            UPDATE probes SET arrival_ns = first_ts_ns;
            DROP INDEX IF EXISTS ix_probes_time;
            CREATE INDEX ix_probes_arrival ON probes(arrival_ns);
            INSERT INTO probe_partitions(name, start_ns, end_ns) SELECT 'probes', min(arrival_ns), max(arrival_ns) + 1 FROM probes;
            """, transaction);
    }
}
