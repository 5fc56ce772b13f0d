using Npgsql;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// Retention on PostgreSQL, the same rules as the SQLite file's: day partitions older than Raw are
/// dropped whole, then the oldest while the database is over MaxBytes (pg_database_size: the whole
/// database, shared by every correlator using it), never the day holding now; rollup rows older
/// than Rollups are deleted by bucket range. Correlators sharing the database take turns (an
/// advisory lock; one that finds it taken skips this pass).
/// </summary>
internal sealed partial class PostgresRetention(RetentionOptions options, ILogger logger)
{
    public RetentionPass Apply(NpgsqlConnection connection, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (PostgresResultsStore.Scalar(connection, $"SELECT pg_try_advisory_lock({PostgresSchema.RetentionLock})") is not true)
        {
            return new RetentionPass(0, 0, PostgresPartitions.List(connection).Count, UsedBytes(connection));
        }

        try
        {
            return Run(connection, nowNs);
        }
        finally
        {
            PostgresResultsStore.Scalar(connection, $"SELECT pg_advisory_unlock({PostgresSchema.RetentionLock})");
        }
    }

    private RetentionPass Run(NpgsqlConnection connection, long nowNs)
    {
        var partitions = PostgresPartitions.List(connection);
        var current = PostgresPartitions.DayStart(nowNs);
        int byAge = 0, bySize = 0;
        if (options.Raw > TimeSpan.Zero)
        {
            var cutoffNs = nowNs - (options.Raw.Ticks * 100);
            foreach (var partition in partitions.Where(p => p.EndNs <= cutoffNs && p.StartNs < current).ToList())
            {
                PostgresPartitions.Drop(connection, partition.Name);
                partitions.Remove(partition);
                byAge++;
                Log.DroppedByAge(logger, partition.Name, options.Raw);
            }
        }

        var used = UsedBytes(connection);
        while (options.MaxBytes > 0 && used > options.MaxBytes && partitions.Count > 0 && partitions[0].EndNs <= current)
        {
            var oldest = partitions[0];
            PostgresPartitions.Drop(connection, oldest.Name);
            partitions.RemoveAt(0);
            bySize++;
            Log.DroppedBySize(logger, oldest.Name, used, options.MaxBytes);
            used = UsedBytes(connection);
        }

        var rollupRows = options.Rollups > TimeSpan.Zero ? PostgresRollups.DeleteBefore(connection, nowNs - (options.Rollups.Ticks * 100)) : 0;
        return new RetentionPass(byAge, bySize, partitions.Count, used) { RollupRowsDropped = rollupRows };
    }

    private static long UsedBytes(NpgsqlConnection connection) =>
        Convert.ToInt64(PostgresResultsStore.Scalar(connection, "SELECT pg_database_size(current_database())"), System.Globalization.CultureInfo.InvariantCulture);

    private static partial class Log
    {
        [LoggerMessage(EventId = 3012, Level = LogLevel.Information, Message = "Dropped raw probe partition {Partition} in PostgreSQL: older than Correlator:Retention:Raw ({Raw})")]
        public static partial void DroppedByAge(ILogger logger, string partition, TimeSpan raw);

        [LoggerMessage(EventId = 3013, Level = LogLevel.Warning,
            Message = "Dropped raw probe partition {Partition} in PostgreSQL: the database used {Used} bytes, over Correlator:Retention:MaxBytes ({MaxBytes})")]
        public static partial void DroppedBySize(ILogger logger, string partition, long used, long maxBytes);
    }
}
