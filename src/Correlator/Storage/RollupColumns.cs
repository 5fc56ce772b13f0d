using System.Data.Common;

namespace HopCapture.Correlator.Storage;

/// <summary>The rollup tables' columns, alike in every backend, and how a row of them becomes a <see cref="RollupRow"/> again.</summary>
internal static class RollupColumns
{
    public const string All =
        "src, dst, bucket_ns, kind, leg, lost_in, lost_leg, lost_after, probes, lost, slow, cost_ns, slow_cost_ns, first_ts_ns, last_ts_ns, worst_id, worst_rtt_ns, histogram";

    /// <summary>Reads a row selected as <see cref="All"/>.</summary>
    public static RollupRow Read(DbDataReader reader) =>
        new(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6), reader.GetString(7))
        {
            Probes = reader.GetInt64(8),
            Lost = reader.GetInt64(9),
            Slow = reader.GetInt64(10),
            CostNs = reader.GetInt64(11),
            SlowCostNs = reader.GetInt64(12),
            FirstTsNs = reader.GetInt64(13),
            LastTsNs = reader.GetInt64(14),
            WorstId = reader.GetInt64(15),
            WorstRttNs = reader.GetInt64(16),
            Rtt = RttHistogram.FromBytes((byte[])reader[17]),
        };
}
