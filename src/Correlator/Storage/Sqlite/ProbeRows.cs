using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>How a partition row becomes a <see cref="ProbeRecord"/> again: the columns to select and their decoding.</summary>
internal static class ProbeRows
{
    /// <summary>The columns <see cref="Read"/> takes, in order.</summary>
    public const string Columns = "id, shape, icmp_id, icmp_seq, first_ts_ns, arrival_ns, rtt_ns, answered, numbers";

    public static ProbeRecord Read(SqliteDataReader reader, Func<long, ProbeShape> shapes) =>
        ProbeCodec.Decode(shapes(reader.GetInt64(1)).Record, reader.GetInt64(0), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
            reader.GetInt64(5), reader.GetInt64(6), reader.GetInt64(7) != 0, (byte[])reader[8]);
}
