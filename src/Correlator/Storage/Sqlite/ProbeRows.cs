using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>How a partition row becomes a <see cref="ProbeRecord"/> again: the columns to select and their reading.</summary>
internal static class ProbeRows
{
    /// <summary>The columns <see cref="Read"/> takes, in order.</summary>
    public const string Columns = "id, record";

    /// <summary>The columns <see cref="ReadLostPlace"/> takes: the record is only parsed for lost probes.</summary>
    public const string LostPlaceColumns = "CASE WHEN answered = 0 THEN record END";

    public static ProbeRecord Read(SqliteDataReader reader) => SqliteResultsStore.ReadRecord(reader.GetInt64(0), (byte[])reader[1]);

    /// <summary>Leg and last point of a lost probe ("" when answered).</summary>
    public static (string Leg, string After) ReadLostPlace(SqliteDataReader reader, int ordinal)
    {
        if (reader.IsDBNull(ordinal))
        {
            return ("", "");
        }

        var record = ProbeRecord.Parser.ParseFrom((byte[])reader[ordinal]);
        return (record.LostLeg, record.LostAfter);
    }
}
