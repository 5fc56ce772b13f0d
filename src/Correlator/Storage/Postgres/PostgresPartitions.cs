using System.Globalization;
using HopCapture.Correlator.Storage.Sqlite;
using Npgsql;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// The day partitions of the probes table: "probes_20260131" holds arrival_ns in [day, day + 1),
/// listed with its bounds in probe_partitions (read in a query's snapshot, so a day dropped
/// meanwhile does not confuse it). Created and dropped under the schema's advisory lock, each in
/// its own short transaction: CREATE ... PARTITION OF and DROP take an exclusive lock on the
/// parent table, which must not be held while a batch streams in.
/// </summary>
internal static class PostgresPartitions
{
    private const long DayNs = TimeSpan.TicksPerDay * 100;

    /// <summary>Start (Unix ns) of the UTC day <paramref name="unixNs"/> falls in.</summary>
    public static long DayStart(long unixNs) => unixNs - (((unixNs % DayNs) + DayNs) % DayNs);

    /// <summary>"probes_20260131" for the day starting at <paramref name="dayStartNs"/>.</summary>
    public static string NameOf(long dayStartNs) =>
        "probes_" + DateTimeOffset.UnixEpoch.AddTicks(dayStartNs / 100).ToString("yyyyMMdd", CultureInfo.InvariantCulture);

    /// <summary>Every partition, oldest first.</summary>
    public static List<ProbePartition> List(NpgsqlConnection connection, NpgsqlTransaction? transaction = null)
    {
        using var command = new NpgsqlCommand("SELECT name, start_ns, end_ns FROM probe_partitions ORDER BY end_ns, start_ns", connection, transaction);
        using var reader = command.ExecuteReader();
        var partitions = new List<ProbePartition>();
        while (reader.Read())
        {
            partitions.Add(new ProbePartition(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2)));
        }

        return partitions;
    }

    /// <summary>Creates the day partition of <paramref name="dayStartNs"/> unless it exists (another correlator may just have made it).</summary>
    public static void Create(NpgsqlConnection connection, long dayStartNs)
    {
        var name = NameOf(dayStartNs);
        var end = dayStartNs + DayNs;
        using var transaction = connection.BeginTransaction();
        using var command = new NpgsqlCommand($"""
            SELECT pg_advisory_xact_lock({PostgresSchema.DdlLock});
            CREATE TABLE IF NOT EXISTS {name} PARTITION OF probes FOR VALUES FROM ({dayStartNs}) TO ({end});
            INSERT INTO probe_partitions(name, start_ns, end_ns) VALUES ('{name}', {dayStartNs}, {end}) ON CONFLICT (name) DO NOTHING;
            """, connection, transaction);
        command.ExecuteNonQuery();
        transaction.Commit();
    }

    /// <summary>Drops a partition and its catalog row; waits at most a few seconds for running queries (else throws, retried at the next check).</summary>
    public static void Drop(NpgsqlConnection connection, string name)
    {
        using var transaction = connection.BeginTransaction();
        using var command = new NpgsqlCommand($"""
            SET LOCAL lock_timeout = '5s';
            SELECT pg_advisory_xact_lock({PostgresSchema.DdlLock});
            DROP TABLE IF EXISTS {name};
            DELETE FROM probe_partitions WHERE name = '{name}';
            """, connection, transaction);
        command.ExecuteNonQuery();
        transaction.Commit();
    }
}
