using System.Globalization;
using System.Text;
using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage;

/// <summary>Already validated probe filter; addresses are in their printable canonical form.</summary>
public sealed record ProbeFilter(
    string? Src = null,
    string? Dst = null,
    long SinceNs = 0,
    long UntilNs = 0,
    long MinRttNs = 0,
    bool LostOnly = false,
    bool OrderByRtt = false,
    int Limit = 100);

/// <summary>Lookup of one probe by its identity; <see cref="IcmpId"/> -1 = any, <see cref="NearNs"/> 0 = newest.</summary>
public sealed record ProbeLookupKey(string Src, string Dst, int IcmpSeq, int IcmpId, long NearNs);

/// <summary>The read side of the store: what the query API asks.</summary>
public sealed class ProbeQueries(ProbeStore store)
{
    /// <summary>Probes whose rtt is above this count as slow for the dominant segment.</summary>
    public const long SlowProbeNs = PathSummaryBuilder.SlowProbeNs;

    public (IReadOnlyList<ProbeRecord> Probes, long Matched) ListProbes(ProbeFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using var session = store.OpenQuery(cancellationToken);
        var partitions = session.Partitions(filter.SinceNs, filter.UntilNs);
        if (partitions.Count == 0)
        {
            return ([], 0);
        }

        using var count = session.CreateCommand();
        var where = Where(count, filter.Src, filter.Dst, filter.SinceNs, filter.UntilNs);
        if (filter.MinRttNs > 0)
        {
            where.Append(" AND rtt_ns >= $min_rtt");
            count.Parameters.AddWithValue("$min_rtt", filter.MinRttNs);
        }

        if (filter.LostOnly)
        {
            where.Append(" AND answered = 0");
        }

        count.CommandText = "SELECT " + string.Join(" + ", partitions.Select(p => $"(SELECT COUNT(*) FROM {p} WHERE {where})"));
        var matched = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);

        using var select = session.CreateCommand();
        foreach (SqliteParameter parameter in count.Parameters)
        {
            select.Parameters.AddWithValue(parameter.ParameterName, parameter.Value);
        }

        select.Parameters.AddWithValue("$limit", filter.Limit);
        // Newest by arrival (the time base), then by capture time within one arrival batch.
        var order = filter.OrderByRtt ? " ORDER BY rtt_ns DESC, id DESC" : " ORDER BY arrival_ns DESC, first_ts_ns DESC, id DESC";
        // Each partition answers its own top rows (by its indexes); the union is sorted once more.
        var tops = partitions.Select(p => $"SELECT * FROM (SELECT id, record, rtt_ns, arrival_ns, first_ts_ns FROM {p} WHERE {where}{order} LIMIT $limit)");
        select.CommandText = "SELECT id, record FROM (" + string.Join(" UNION ALL ", tops) + ")" + order + " LIMIT $limit";
        return (ReadRecords(select), matched);
    }

    public ProbeRecord? GetById(long id, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenQuery(cancellationToken);
        var partitions = session.Partitions(0, 0);
        if (partitions.Count == 0)
        {
            return null;
        }

        using var command = session.CreateCommand();
        command.CommandText = ProbePartitions.Union(partitions, "id, record", "id = $id") + " LIMIT 1";
        command.Parameters.AddWithValue("$id", id);
        return ReadRecords(command).FirstOrDefault();
    }

    public ProbeRecord? Lookup(ProbeLookupKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        using var session = store.OpenQuery(cancellationToken);
        var partitions = session.Partitions(0, 0);
        if (partitions.Count == 0)
        {
            return null;
        }

        using var command = session.CreateCommand();
        var where = new StringBuilder("src = $src AND dst = $dst AND icmp_seq = $seq");
        command.Parameters.AddWithValue("$src", key.Src);
        command.Parameters.AddWithValue("$dst", key.Dst);
        command.Parameters.AddWithValue("$seq", key.IcmpSeq);
        if (key.IcmpId >= 0)
        {
            where.Append(" AND icmp_id = $id");
            command.Parameters.AddWithValue("$id", key.IcmpId);
        }

        // "Near" is a capture time the caller read off a probe or a ping, so it is matched on first_ts_ns.
        string order;
        if (key.NearNs != 0)
        {
            order = " ORDER BY ABS(first_ts_ns - $near), id DESC LIMIT 1";
            command.Parameters.AddWithValue("$near", key.NearNs);
        }
        else
        {
            order = " ORDER BY first_ts_ns DESC, id DESC LIMIT 1";
        }

        command.CommandText = "SELECT id, record FROM (" + ProbePartitions.Union(partitions, "id, record, first_ts_ns", where.ToString()) + ")" + order;
        return ReadRecords(command).FirstOrDefault();
    }

    public IReadOnlyList<PathSummary> ListPaths(long sinceNs, long untilNs, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenQuery(cancellationToken);
        var partitions = session.Partitions(sinceNs, untilNs);
        var paths = new List<PathSummary>();
        if (partitions.Count == 0)
        {
            return paths;
        }

        using var command = session.CreateCommand();
        var where = Where(command, null, null, sinceNs, untilNs);
        command.CommandText = "SELECT * FROM (" +
                              ProbePartitions.Union(partitions, "src, dst, id, first_ts_ns, rtt_ns, answered, verdict_kind, verdict_cost_ns, verdict_leg", where.ToString()) +
                              ") ORDER BY src, dst";
        using var reader = command.ExecuteReader();
        PathSummaryBuilder? current = null;
        while (reader.Read())
        {
            var src = reader.GetString(0);
            var dst = reader.GetString(1);
            if (current is null || current.Src != src || current.Dst != dst)
            {
                if (current is not null)
                {
                    paths.Add(current.Build().ToProto());
                }

                current = new PathSummaryBuilder(src, dst);
            }

            current.Add(reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5) != 0, reader.GetString(6), reader.GetInt64(7), reader.GetString(8));
        }

        if (current is not null)
        {
            paths.Add(current.Build().ToProto());
        }

        return paths;
    }

    /// <summary>
    /// The filter as SQL; the window is on arrival_ns, the correlator's own clock, so a capturing
    /// node whose clock is off still falls in the window it was seen in.
    /// </summary>
    internal static StringBuilder Where(SqliteCommand command, string? src, string? dst, long sinceNs, long untilNs)
    {
        var where = new StringBuilder("1 = 1");
        if (!string.IsNullOrEmpty(src))
        {
            where.Append(" AND src = $src");
            command.Parameters.AddWithValue("$src", src);
        }

        if (!string.IsNullOrEmpty(dst))
        {
            where.Append(" AND dst = $dst");
            command.Parameters.AddWithValue("$dst", dst);
        }

        if (sinceNs != 0)
        {
            where.Append(" AND arrival_ns >= $since");
            command.Parameters.AddWithValue("$since", sinceNs);
        }

        if (untilNs != 0)
        {
            where.Append(" AND arrival_ns <= $until");
            command.Parameters.AddWithValue("$until", untilNs);
        }

        return where;
    }

    private static List<ProbeRecord> ReadRecords(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        var records = new List<ProbeRecord>();
        while (reader.Read())
        {
            records.Add(ProbeStore.ReadRecord(reader.GetInt64(0), (byte[])reader[1]));
        }

        return records;
    }
}
