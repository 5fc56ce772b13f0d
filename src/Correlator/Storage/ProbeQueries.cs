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
        var connection = session.Connection;
        using var count = connection.CreateCommand();
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

        count.CommandText = "SELECT COUNT(*) FROM probes WHERE " + where;
        var matched = Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);

        using var select = connection.CreateCommand();
        foreach (SqliteParameter parameter in count.Parameters)
        {
            select.Parameters.AddWithValue(parameter.ParameterName, parameter.Value);
        }

        select.Parameters.AddWithValue("$limit", filter.Limit);
        select.CommandText = "SELECT id, record FROM probes WHERE " + where +
                             (filter.OrderByRtt ? " ORDER BY rtt_ns DESC, id DESC" : " ORDER BY first_ts_ns DESC, id DESC") +
                             " LIMIT $limit";
        return (ReadRecords(select), matched);
    }

    public ProbeRecord? GetById(long id, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenQuery(cancellationToken);
        var connection = session.Connection;
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, record FROM probes WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        return ReadRecords(command).FirstOrDefault();
    }

    public ProbeRecord? Lookup(ProbeLookupKey key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(key);
        using var session = store.OpenQuery(cancellationToken);
        var connection = session.Connection;
        using var command = connection.CreateCommand();
        var sql = new StringBuilder("SELECT id, record FROM probes WHERE src = $src AND dst = $dst AND icmp_seq = $seq");
        command.Parameters.AddWithValue("$src", key.Src);
        command.Parameters.AddWithValue("$dst", key.Dst);
        command.Parameters.AddWithValue("$seq", key.IcmpSeq);
        if (key.IcmpId >= 0)
        {
            sql.Append(" AND icmp_id = $id");
            command.Parameters.AddWithValue("$id", key.IcmpId);
        }

        if (key.NearNs != 0)
        {
            sql.Append(" ORDER BY ABS(first_ts_ns - $near), id DESC LIMIT 1");
            command.Parameters.AddWithValue("$near", key.NearNs);
        }
        else
        {
            sql.Append(" ORDER BY first_ts_ns DESC, id DESC LIMIT 1");
        }

        command.CommandText = sql.ToString();
        return ReadRecords(command).FirstOrDefault();
    }

    public IReadOnlyList<PathSummary> ListPaths(long sinceNs, long untilNs, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenQuery(cancellationToken);
        var connection = session.Connection;
        using var command = connection.CreateCommand();
        var where = Where(command, null, null, sinceNs, untilNs);
        command.CommandText = "SELECT src, dst, id, first_ts_ns, rtt_ns, answered, verdict_kind, verdict_cost_ns, verdict_leg FROM probes WHERE " +
                              where + " ORDER BY src, dst";
        using var reader = command.ExecuteReader();
        var paths = new List<PathSummary>();
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

    private static StringBuilder Where(SqliteCommand command, string? src, string? dst, long sinceNs, long untilNs)
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
            where.Append(" AND first_ts_ns >= $since");
            command.Parameters.AddWithValue("$since", sinceNs);
        }

        if (untilNs != 0)
        {
            where.Append(" AND first_ts_ns <= $until");
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
