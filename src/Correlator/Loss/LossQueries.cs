using HopCapture.Correlator.Storage;
using HopCapture.Engine.Loss;
using HopCapture.Protos;

namespace HopCapture.Correlator.Loss;

/// <summary>
/// Loss per path and segment, and freezes, derived from the stored probes at query time: the
/// probes table is the record, so a restart keeps every freeze and any window can be asked.
/// </summary>
public sealed class LossQueries(ProbeStore store)
{
    public ListLossResponse ListLoss(string? src, string? dst, long sinceNs, long untilNs)
    {
        var response = new ListLossResponse();
        PathLoss? current = null;
        var places = new Dictionary<(string Segment, string Leg, string After), ulong>();
        foreach (var row in Rows(src, dst, sinceNs, untilNs, orderByPath: true))
        {
            if (current is null || current.Src != row.Src || current.Dst != row.Dst)
            {
                Finish(current, places);
                current = new PathLoss { Src = row.Src, Dst = row.Dst, FirstTsNs = row.TimestampNs };
                response.Paths.Add(current);
            }

            current.Probes++;
            current.FirstTsNs = Math.Min(current.FirstTsNs, row.TimestampNs);
            current.LastTsNs = Math.Max(current.LastTsNs, row.TimestampNs);
            if (!row.Answered)
            {
                current.Lost++;
                var key = (row.LostIn, row.LostLeg, row.LostAfter);
                places[key] = places.GetValueOrDefault(key) + 1;
            }
        }

        Finish(current, places);
        return response;
    }

    public ListFreezesResponse ListFreezes(string? src, string? dst, long sinceNs, long untilNs, int minLost)
    {
        var response = new ListFreezesResponse();
        var run = new List<SeqOutcome>();
        (string Src, string Dst, uint Id)? key = null;
        foreach (var row in Rows(src, dst, sinceNs, untilNs, orderByPath: false))
        {
            var rowKey = (row.Src, row.Dst, row.IcmpId);
            if (key != rowKey)
            {
                Detect(response, key, run, minLost);
                run.Clear();
                key = rowKey;
            }

            run.Add(new SeqOutcome(row.Seq, row.TimestampNs, row.Answered, row.LostIn, row.LostLeg, row.LostAfter));
        }

        Detect(response, key, run, minLost);
        return response;
    }

    private static void Detect(ListFreezesResponse response, (string Src, string Dst, uint Id)? key, List<SeqOutcome> run, int minLost)
    {
        if (key is not { } path || run.Count == 0)
        {
            return;
        }

        var outcomes = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(run);
        var freezes = FreezeDetector.Find(outcomes, minLost);
        foreach (var freeze in freezes)
        {
            response.Freezes.Add(new FreezeInfo
            {
                Src = path.Src,
                Dst = path.Dst,
                IcmpId = path.Id,
                FirstSeq = freeze.FirstSeq,
                LastSeq = freeze.LastSeq,
                StartNs = freeze.StartNs,
                EndNs = freeze.EndNs,
                DurationNs = freeze.DurationNs,
                Lost = (uint)freeze.Lost,
                Unseen = (uint)freeze.Unseen,
                Segment = freeze.Segment,
                Leg = freeze.Leg,
                After = freeze.After,
                Ongoing = freeze.Ongoing,
                Silence = freeze.Silence,
            });
        }

        var losses = freezes.Where(f => !f.Silence).ToList();
        if (losses.Count < 2)
        {
            return;
        }

        var period = FreezeDetector.Period(losses);
        response.Series.Add(new FreezeSeries
        {
            Src = path.Src,
            Dst = path.Dst,
            IcmpId = path.Id,
            Freezes = (uint)losses.Count,
            Periodic = period is not null,
            PeriodNs = period?.PeriodNs ?? 0,
            SpreadNs = period?.SpreadNs ?? 0,
            MeanLost = losses.Average(f => (double)f.Lost),
            IntervalNs = FreezeDetector.Interval(outcomes),
            Segment = losses.GroupBy(f => f.Segment).OrderByDescending(g => g.Count()).First().Key,
        });
    }

    private static void Finish(PathLoss? path, Dictionary<(string Segment, string Leg, string After), ulong> places)
    {
        if (path is null)
        {
            return;
        }

        path.Rate = path.Probes == 0 ? 0 : (double)path.Lost / path.Probes;
        foreach (var ((segment, leg, after), lost) in places.OrderByDescending(p => p.Value).ThenBy(p => p.Key.Segment, StringComparer.Ordinal))
        {
            path.Places.Add(new LossPlace { Segment = segment, Leg = leg, After = after, Lost = lost, Rate = (double)lost / path.Probes });
        }

        places.Clear();
    }

    private readonly record struct Row(string Src, string Dst, uint IcmpId, ushort Seq, long TimestampNs, bool Answered, string LostIn, string LostLeg, string LostAfter);

    private IEnumerable<Row> Rows(string? src, string? dst, long sinceNs, long untilNs, bool orderByPath)
    {
        using var connection = store.Open();
        using var command = connection.CreateCommand();
        var where = "1 = 1";
        if (!string.IsNullOrEmpty(src))
        {
            where += " AND src = $src";
            command.Parameters.AddWithValue("$src", src);
        }

        if (!string.IsNullOrEmpty(dst))
        {
            where += " AND dst = $dst";
            command.Parameters.AddWithValue("$dst", dst);
        }

        if (sinceNs != 0)
        {
            where += " AND first_ts_ns >= $since";
            command.Parameters.AddWithValue("$since", sinceNs);
        }

        if (untilNs != 0)
        {
            where += " AND first_ts_ns <= $until";
            command.Parameters.AddWithValue("$until", untilNs);
        }

        // The record is only parsed for lost probes: that is where the leg and last point live.
        command.CommandText = "SELECT src, dst, icmp_id, icmp_seq, first_ts_ns, answered, lost_in, CASE WHEN answered = 0 THEN record END " +
                              "FROM probes WHERE " + where +
                              (orderByPath ? " ORDER BY src, dst" : " ORDER BY src, dst, icmp_id, first_ts_ns, icmp_seq");
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
