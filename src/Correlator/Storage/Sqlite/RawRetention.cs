using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// Keeps raw probes within <see cref="RetentionOptions"/>: drops whole day partitions (DROP
/// TABLE) older than Raw, then the oldest ones while the database uses more than MaxBytes. The
/// partition holding "now" is never dropped: it is the one being written. Runs on the store
/// writer's connection, between its transactions, so no insert meets a dropped table.
/// </summary>
public sealed partial class RawRetention(RetentionOptions options, ILogger logger)
{
    public RetentionPass Apply(SqliteConnection connection, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var partitions = ProbePartitions.List(connection);
        var current = ProbePartitions.DayStart(nowNs);
        int byAge = 0, bySize = 0;
        if (options.Raw > TimeSpan.Zero)
        {
            var cutoffNs = nowNs - (options.Raw.Ticks * 100);
            foreach (var partition in partitions.Where(p => p.EndNs <= cutoffNs && p.StartNs < current).ToList())
            {
                ProbePartitions.Drop(connection, partition.Name);
                partitions.Remove(partition);
                byAge++;
                Log.DroppedByAge(logger, partition.Name, options.Raw);
            }
        }

        var used = SqliteResultsStore.UsedBytes(connection);
        while (options.MaxBytes > 0 && used > options.MaxBytes && partitions.Count > 0 && partitions[0].EndNs <= current)
        {
            var oldest = partitions[0];
            ProbePartitions.Drop(connection, oldest.Name);
            partitions.RemoveAt(0);
            bySize++;
            var after = SqliteResultsStore.UsedBytes(connection);
            Log.DroppedBySize(logger, oldest.Name, used, options.MaxBytes);
            used = after;
        }

        if (byAge + bySize > 0)
        {
            // Gives the freed pages back to the filesystem on files created with auto_vacuum (v4 on).
            SqliteResultsStore.Execute(connection, "PRAGMA incremental_vacuum;");
            used = SqliteResultsStore.UsedBytes(connection);
        }

        return new RetentionPass(byAge, bySize, partitions.Count, used);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3010, Level = LogLevel.Information, Message = "Dropped raw probe partition {Partition}: older than Correlator:Retention:Raw ({Raw})")]
        public static partial void DroppedByAge(ILogger logger, string partition, TimeSpan raw);

        [LoggerMessage(EventId = 3011, Level = LogLevel.Warning,
            Message = "Dropped raw probe partition {Partition}: the database used {Used} bytes, over Correlator:Retention:MaxBytes ({MaxBytes})")]
        public static partial void DroppedBySize(ILogger logger, string partition, long used, long maxBytes);
    }
}
