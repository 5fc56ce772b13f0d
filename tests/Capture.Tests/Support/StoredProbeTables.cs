using HopCapture.Correlator.Storage;
using Microsoft.Data.Sqlite;

namespace HopCapture.Tests.Support;

/// <summary>Tests that read the store's rows directly: every partition as one table expression.</summary>
public static class StoredProbeTables
{
    /// <summary>"(SELECT columns FROM p1 UNION ALL …)" over every partition, usable after FROM.</summary>
    public static string All(SqliteConnection connection)
    {
        var partitions = ProbePartitions.List(connection).Select(static p => p.Name).ToList();
        return partitions.Count == 0
            ? "(SELECT NULL AS id, NULL AS src, NULL AS dst, NULL AS icmp_id, NULL AS icmp_seq, NULL AS first_ts_ns, NULL AS arrival_ns, " +
              "NULL AS rtt_ns, NULL AS answered, NULL AS verdict_kind, NULL AS verdict_cost_ns, NULL AS lost_in, NULL AS imported, NULL AS record, NULL AS verdict_leg WHERE 0)"
            : "(" + ProbePartitions.Union(partitions, ProbePartitions.Columns, "1 = 1") + ")";
    }
}
