using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;

namespace HopCapture.Correlator.Loss;

/// <summary>
/// Loss per path and segment, and freezes, derived from the stored probes at query time: the
/// probes are the record, so a restart keeps every freeze and any window can be asked (windows
/// on arrival time, like every probe query; runs ordered by capture time within a path).
/// </summary>
public sealed class LossQueries(ProbeStore store)
{
    public ListLossResponse ListLoss(string? src, string? dst, long sinceNs, long untilNs, CancellationToken cancellationToken = default)
    {
        var builder = new LossReportBuilder();
        foreach (var row in Rows(src, dst, sinceNs, untilNs, orderByRun: false, cancellationToken))
        {
            builder.Add(row.Src, row.Dst, row.TimestampNs, row.Answered, row.LostIn, row.LostLeg, row.LostAfter);
        }

        return builder.Build().ToProto();
    }

    public ListFreezesResponse ListFreezes(string? src, string? dst, long sinceNs, long untilNs, int minLost, CancellationToken cancellationToken = default)
    {
        var builder = new FreezeReportBuilder(minLost);
        (string Src, string Dst, uint Id)? key = null;
        foreach (var row in Rows(src, dst, sinceNs, untilNs, orderByRun: true, cancellationToken))
        {
            // Rows come ordered by run: detect on each run as it ends, so memory follows one run, not the window.
            var rowKey = (row.Src, row.Dst, row.IcmpId);
            if (key != rowKey)
            {
                builder.Flush();
                key = rowKey;
            }

            builder.Add(row.Src, row.Dst, row.IcmpId, row.Seq, row.TimestampNs, row.Answered, row.LostIn, row.LostLeg, row.LostAfter);
        }

        return builder.Build().ToProto();
    }

    private readonly record struct Row(string Src, string Dst, uint IcmpId, ushort Seq, long TimestampNs, bool Answered, string LostIn, string LostLeg, string LostAfter);

    private IEnumerable<Row> Rows(string? src, string? dst, long sinceNs, long untilNs, bool orderByRun, CancellationToken cancellationToken)
    {
        using var session = store.OpenQuery(cancellationToken);
        var partitions = session.Partitions(sinceNs, untilNs);
        if (partitions.Count == 0)
        {
            yield break;
        }

        using var command = session.CreateCommand();
        var where = ProbeQueries.Where(command, src, dst, sinceNs, untilNs).ToString();

        // The record is only parsed for lost probes: that is where the leg and last point live.
        command.CommandText = "SELECT * FROM (" +
                              ProbePartitions.Union(partitions, "src, dst, icmp_id, icmp_seq, first_ts_ns, answered, lost_in, CASE WHEN answered = 0 THEN record END", where) +
                              ")" +
                              // Loss sums in any order (the builder orders its output); freezes flush run by run.
                              (orderByRun ? " ORDER BY src, dst, icmp_id, first_ts_ns, icmp_seq" : "");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var answered = reader.GetInt64(5) != 0;
            string leg = "", after = "";
            if (!answered && !reader.IsDBNull(7))
            {
                var record = ProbeRecord.Parser.ParseFrom((byte[])reader[7]);
                leg = record.LostLeg;
                after = record.LostAfter;
            }

            yield return new Row(reader.GetString(0), reader.GetString(1), (uint)reader.GetInt64(2), (ushort)reader.GetInt64(3),
                reader.GetInt64(4), answered, reader.GetString(6), leg, after);
        }
    }
}
