using System.Data;
using System.Text;
using HopCapture.Protos;
using Npgsql;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// A query on PostgreSQL: one pooled connection in a REPEATABLE READ transaction, so the partition
/// list and the rows are one snapshot (a day dropped meanwhile stays readable to it). The window
/// filters on arrival_ns, which prunes the probes table to the days it touches. When the caller's
/// token fires the running statement is cancelled on the server (a cancel request), and fails
/// with SQLSTATE 57014: nobody's scan runs on after its caller gave up.
/// </summary>
internal sealed class PostgresReadSession : IStoreReadSession
{
    /// <summary>What <see cref="Records"/> reads: the record with its id and the arrival time it was filed under.</summary>
    private const string RecordColumns = "id, record, arrival_ns";

    private const string PathColumns = "src, dst, id, first_ts_ns, rtt_ns, answered, verdict_kind, verdict_cost_ns, verdict_leg";

    private readonly NpgsqlConnection _connection;
    private readonly NpgsqlTransaction _snapshot;
    private readonly CancellationTokenRegistration _cancel;
    private NpgsqlCommand? _running;

    public PostgresReadSession(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        _connection = connection;
        try
        {
            _snapshot = connection.BeginTransaction(IsolationLevel.RepeatableRead);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        _cancel = cancellationToken.Register(static s => Volatile.Read(ref ((PostgresReadSession)s!)._running)?.Cancel(), this);
    }

    public long RawSinceNs => Scalar<long?>("SELECT min(start_ns) FROM probe_partitions", []) ?? 0;

    public long RollupsSinceNs => Scalar<long?>($"SELECT min(bucket_ns) FROM {PostgresRollups.Table(RollupWidth.Minute)}", []) ?? 0;

    public long RolledUpProbes(RollupWidth width, long sinceNs, long untilNs)
    {
        var parameters = new List<NpgsqlParameter>();
        var where = $"bucket_ns >= {Add(parameters, sinceNs)}" + (untilNs != 0 ? $" AND bucket_ns <= {Add(parameters, untilNs)}" : "");
        // sum(bigint) is numeric in PostgreSQL: cast back.
        return Scalar<long?>($"SELECT sum(probes)::bigint FROM {PostgresRollups.Table(width)} WHERE {where}", parameters) ?? 0;
    }

    public long LastProbeId => Scalar<long?>("SELECT max(id) FROM probes", []) ?? 0;

    public long FirstProbeId => Scalar<long?>("SELECT min(id) FROM probes", []) ?? 0;

    public long CountProbes(ProbeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var parameters = new List<NpgsqlParameter>();
        return Scalar<long>("SELECT count(*) FROM probes WHERE " + ProbeWhere(parameters, filter), parameters);
    }

    public IEnumerable<ProbeRecord> ReadProbes(ProbeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var parameters = new List<NpgsqlParameter>();
        var where = ProbeWhere(parameters, filter);
        // Newest by arrival (the time base), then by capture time within one arrival batch.
        var order = filter.OrderByRtt ? " ORDER BY rtt_ns DESC, id DESC" : " ORDER BY arrival_ns DESC, first_ts_ns DESC, id DESC";
        var limit = filter.Limit > 0 ? " LIMIT " + Add(parameters, (long)filter.Limit) : "";
        foreach (var record in Records($"SELECT {RecordColumns} FROM probes WHERE {where}{order}{limit}", parameters))
        {
            yield return record;
        }
    }

    public ProbeRecord? GetById(long id)
    {
        var parameters = new List<NpgsqlParameter>();
        return Records($"SELECT {RecordColumns} FROM probes WHERE id = " + Add(parameters, id) + " LIMIT 1", parameters).FirstOrDefault();
    }

    public ProbeRecord? Lookup(ProbeLookupKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parameters = new List<NpgsqlParameter>();
        var where = new StringBuilder($"src = {Add(parameters, key.Src)} AND dst = {Add(parameters, key.Dst)} AND icmp_seq = {Add(parameters, key.IcmpSeq)}");
        if (key.IcmpId >= 0)
        {
            where.Append(" AND icmp_id = ").Append(Add(parameters, key.IcmpId));
        }

        // "Near" is a capture time the caller read off a probe or a ping, so it is matched on first_ts_ns.
        var order = key.NearNs != 0
            ? $" ORDER BY abs(first_ts_ns - {Add(parameters, key.NearNs)}), id DESC LIMIT 1"
            : " ORDER BY first_ts_ns DESC, id DESC LIMIT 1";
        return Records($"SELECT {RecordColumns} FROM probes WHERE {where}{order}", parameters).FirstOrDefault();
    }

    public IEnumerable<PathProbeRow> PathRows(long sinceNs, long untilNs)
    {
        var parameters = new List<NpgsqlParameter>();
        using var reader = Execute($"SELECT {PathColumns} FROM probes WHERE {Where(parameters, null, null, sinceNs, untilNs)} ORDER BY src, dst", parameters);
        while (reader.Read())
        {
            yield return new PathProbeRow(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4),
                reader.GetBoolean(5), reader.GetString(6), reader.GetInt64(7), reader.GetString(8));
        }
    }

    public IEnumerable<LossProbeRow> LossRows(string? src, string? dst, long sinceNs, long untilNs, bool orderByRun)
    {
        var parameters = new List<NpgsqlParameter>();
        // Loss sums in any order (the builder orders its output); freezes flush run by run. The
        // record is read only for lost probes, for their leg and last point.
        using var reader = Execute(
            "SELECT src, dst, icmp_id, icmp_seq, first_ts_ns, answered, lost_in, CASE WHEN NOT answered THEN record END FROM probes WHERE " +
            Where(parameters, src, dst, sinceNs, untilNs) + (orderByRun ? " ORDER BY src, dst, icmp_id, first_ts_ns, icmp_seq" : ""),
            parameters);
        while (reader.Read())
        {
            var (leg, after) = ("", "");
            if (!reader.IsDBNull(7))
            {
                var record = ProbeRecord.Parser.ParseFrom(reader.GetFieldValue<byte[]>(7));
                (leg, after) = (record.LostLeg, record.LostAfter);
            }

            yield return new LossProbeRow(reader.GetString(0), reader.GetString(1), (uint)reader.GetInt32(2), (ushort)reader.GetInt32(3),
                reader.GetInt64(4), reader.GetBoolean(5), reader.GetString(6), leg, after);
        }
    }

    public IEnumerable<RollupRow> Rollups(RollupWidth width, string? src, string? dst, long sinceNs, long untilNs)
    {
        var parameters = new List<NpgsqlParameter>();
        var where = Where(parameters, src, dst, 0, 0);
        if (sinceNs != 0)
        {
            where.Append(" AND bucket_ns >= ").Append(Add(parameters, sinceNs));
        }

        if (untilNs != 0)
        {
            where.Append(" AND bucket_ns <= ").Append(Add(parameters, untilNs));
        }

        using var reader = Execute($"SELECT {PostgresRollups.Columns} FROM {PostgresRollups.Table(width)} WHERE {where} ORDER BY src, dst, bucket_ns", parameters);
        while (reader.Read())
        {
            yield return PostgresRollups.Read(reader);
        }
    }

    public void Dispose()
    {
        // Unregistered first (waiting for a running callback), so no cancel reaches a pooled connection.
        _cancel.Dispose();
        _snapshot.Dispose();
        _connection.Dispose();
    }

    /// <summary>
    /// The filter as SQL; the window is on arrival_ns, the correlator's own clock, so a capturing
    /// node whose clock is off still falls in the window it was seen in.
    /// </summary>
    private static StringBuilder Where(List<NpgsqlParameter> parameters, string? src, string? dst, long sinceNs, long untilNs)
    {
        var where = new StringBuilder("true");
        if (!string.IsNullOrEmpty(src))
        {
            where.Append(" AND src = ").Append(Add(parameters, src));
        }

        if (!string.IsNullOrEmpty(dst))
        {
            where.Append(" AND dst = ").Append(Add(parameters, dst));
        }

        if (sinceNs != 0)
        {
            where.Append(" AND arrival_ns >= ").Append(Add(parameters, sinceNs));
        }

        if (untilNs != 0)
        {
            where.Append(" AND arrival_ns <= ").Append(Add(parameters, untilNs));
        }

        return where;
    }

    private static StringBuilder ProbeWhere(List<NpgsqlParameter> parameters, ProbeFilter filter)
    {
        var where = Where(parameters, filter.Src, filter.Dst, filter.SinceNs, filter.UntilNs);
        if (filter.MinRttNs > 0)
        {
            where.Append(" AND rtt_ns >= ").Append(Add(parameters, filter.MinRttNs));
        }

        if (filter.LostOnly)
        {
            where.Append(" AND NOT answered");
        }

        if (filter.ThroughId > 0)
        {
            where.Append(" AND id <= ").Append(Add(parameters, filter.ThroughId));
        }

        if (filter.After is { } after)
        {
            // A plain bound on arrival_ns first: it prunes the day partitions and ranges the index.
            var arrival = Add(parameters, after.ArrivalNs);
            var first = Add(parameters, after.FirstTsNs);
            where.Append(System.Globalization.CultureInfo.InvariantCulture,
                $" AND arrival_ns <= {arrival} AND (arrival_ns < {arrival} OR first_ts_ns < {first} OR (first_ts_ns = {first} AND id < {Add(parameters, after.Id)}))");
        }

        return where;
    }

    /// <summary>Adds a typed positional parameter and returns its placeholder ("$3").</summary>
    private static string Add<T>(List<NpgsqlParameter> parameters, T value)
    {
        parameters.Add(new NpgsqlParameter<T> { TypedValue = value });
        return "$" + parameters.Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    private IEnumerable<ProbeRecord> Records(string sql, List<NpgsqlParameter> parameters)
    {
        using var reader = Execute(sql, parameters);
        while (reader.Read())
        {
            var record = ProbeRecord.Parser.ParseFrom(reader.GetFieldValue<byte[]>(1));
            record.Id = reader.GetInt64(0);
            // The column, as SQLite answers: a record written without one was filed under its first_ts_ns.
            record.ArrivalNs = reader.GetInt64(2);
            yield return record;
        }
    }

    private T? Scalar<T>(string sql, List<NpgsqlParameter> parameters)
    {
        using var reader = Execute(sql, parameters);
        return reader.Read() && !reader.IsDBNull(0) ? reader.GetFieldValue<T>(0) : default;
    }

    /// <summary>Runs <paramref name="sql"/> in the snapshot as the statement the caller's token cancels.</summary>
    private NpgsqlDataReader Execute(string sql, List<NpgsqlParameter> parameters)
    {
        var command = new NpgsqlCommand(sql, _connection, _snapshot);
        command.Parameters.AddRange(parameters.ToArray());
        Volatile.Write(ref _running, command);
        return command.ExecuteReader();
    }
}
