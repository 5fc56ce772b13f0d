using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// A query's connection, the registration that interrupts it, and one read transaction: the
/// partition list and the rows come from one snapshot, so retention dropping a partition
/// meanwhile cannot fail the query. When the caller's token fires the running statement is
/// interrupted (sqlite3_interrupt) and fails with SQLITE_INTERRUPT, so a caller who gave up
/// (deadline, Ctrl-C) does not leave the correlator scanning for nobody.
/// </summary>
public sealed class SqliteReadSession : IStoreReadSession
{
    private readonly CancellationTokenRegistration _interrupt;
    private readonly SqliteTransaction _snapshot;
    private readonly ProbeShapes _shapes;
    private List<ProbePartition>? _partitions;

    internal SqliteReadSession(SqliteConnection connection, ProbeShapes shapes, CancellationToken cancellationToken)
    {
        Connection = connection;
        _shapes = shapes;
        _snapshot = connection.BeginTransaction(deferred: true);
        _interrupt = cancellationToken.Register(static c => SQLitePCL.raw.sqlite3_interrupt(((SqliteConnection)c!).Handle), connection);
    }

    public SqliteConnection Connection { get; }

    public long RawSinceNs => AllPartitions().Count == 0 ? 0 : AllPartitions().Min(static p => p.StartNs);

    public long RollupsSinceNs => Convert.ToInt64(Scalar($"SELECT coalesce(min(bucket_ns), 0) FROM {SqliteRollups.Table(RollupWidth.Minute)}"), CultureInfo.InvariantCulture);

    public long RolledUpProbes(RollupWidth width, long sinceNs, long untilNs)
    {
        using var command = CreateCommand();
        command.CommandText = $"SELECT coalesce(sum(probes), 0) FROM {SqliteRollups.Table(width)} WHERE bucket_ns >= $since AND ($until = 0 OR bucket_ns <= $until)";
        command.Parameters.AddWithValue("$since", sinceNs);
        command.Parameters.AddWithValue("$until", untilNs);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>A command in the session's read transaction.</summary>
    public SqliteCommand CreateCommand()
    {
        var command = Connection.CreateCommand();
        command.Transaction = _snapshot;
        return command;
    }

    /// <summary>The partitions a window touches, as of the session's snapshot (0 = open end).</summary>
    public List<string> Partitions(long sinceNs, long untilNs) =>
        AllPartitions().Where(p => p.Overlaps(sinceNs, untilNs)).Select(static p => p.Name).ToList();

    /// <summary>Whether <paramref name="exception"/> is a statement stopped by the interrupt.</summary>
    public static bool IsInterrupt(SqliteException exception) => exception?.SqliteErrorCode == SQLitePCL.raw.SQLITE_INTERRUPT;

    public long LastProbeId => ProbePartitions.MaxId(Connection, _snapshot);

    public long FirstProbeId => AllPartitions().Count == 0 ? 0
        : Convert.ToInt64(Scalar($"SELECT coalesce(min(m), 0) FROM ({string.Join(" UNION ALL ", AllPartitions().Select(static p => $"SELECT min(id) AS m FROM {p.Name}"))})"), CultureInfo.InvariantCulture);

    public long CountProbes(ProbeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var partitions = Partitions(filter.SinceNs, filter.ReadUntilNs);
        if (partitions.Count == 0)
        {
            return 0;
        }

        using var count = CreateCommand();
        var where = ProbeWhere(count, filter);
        count.CommandText = "SELECT " + string.Join(" + ", partitions.Select(p => $"(SELECT COUNT(*) FROM {p} WHERE {where})"));
        return Convert.ToInt64(count.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    public IEnumerable<ProbeRecord> ReadProbes(ProbeFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var partitions = Partitions(filter.SinceNs, filter.ReadUntilNs);
        if (partitions.Count == 0)
        {
            yield break;
        }

        using var select = CreateCommand();
        var where = ProbeWhere(select, filter);
        var limit = filter.Limit > 0 ? " LIMIT $limit" : "";
        select.Parameters.AddWithValue("$limit", filter.Limit);
        // Newest by arrival (the time base), then by capture time within one arrival batch.
        var order = filter.OrderByRtt ? " ORDER BY rtt_ns DESC, id DESC" : " ORDER BY arrival_ns DESC, first_ts_ns DESC, id DESC";
        // Each partition answers its own top rows (by its indexes); the union is sorted once more.
        var tops = partitions.Select(p => $"SELECT * FROM (SELECT {ProbeRows.Columns}, rtt_ns AS o_rtt, arrival_ns AS o_arrival, first_ts_ns AS o_first FROM {p} WHERE {where}{order}{limit})");
        select.CommandText = $"SELECT {ProbeRows.Columns} FROM (" + string.Join(" UNION ALL ", tops) + ")" +
                             (filter.OrderByRtt ? " ORDER BY o_rtt DESC, id DESC" : " ORDER BY o_arrival DESC, o_first DESC, id DESC") + limit;
        using var reader = select.ExecuteReader();
        while (reader.Read())
        {
            yield return ProbeRows.Read(reader, Shape);
        }
    }

    public ProbeRecord? GetById(long id)
    {
        var partitions = Partitions(0, 0);
        if (partitions.Count == 0)
        {
            return null;
        }

        using var command = CreateCommand();
        command.CommandText = ProbePartitions.Union(partitions, ProbeRows.Columns, "id = $id") + " LIMIT 1";
        command.Parameters.AddWithValue("$id", id);
        return ReadOne(command);
    }

    public ProbeRecord? Lookup(ProbeLookupKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var partitions = Partitions(0, 0);
        if (partitions.Count == 0)
        {
            return null;
        }

        using var command = CreateCommand();
        var where = Where(command, key.Src, key.Dst, 0, 0).Append(" AND icmp_seq = $seq");
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
            order = " ORDER BY ABS(o_first - $near), id DESC LIMIT 1";
            command.Parameters.AddWithValue("$near", key.NearNs);
        }
        else
        {
            order = " ORDER BY o_first DESC, id DESC LIMIT 1";
        }

        command.CommandText = $"SELECT {ProbeRows.Columns} FROM (" +
                              ProbePartitions.Union(partitions, ProbeRows.Columns + ", first_ts_ns AS o_first", where.ToString()) + ")" + order;
        return ReadOne(command);
    }

    public IEnumerable<PathProbeRow> PathRows(long sinceNs, long untilNs)
    {
        var partitions = Partitions(sinceNs, untilNs);
        if (partitions.Count == 0)
        {
            yield break;
        }

        using var command = CreateCommand();
        var where = Where(command, null, null, sinceNs, untilNs);
        command.CommandText = "SELECT p.shape, p.id, p.first_ts_ns, p.rtt_ns, p.answered, p.verdict_cost_ns FROM (" +
                              ProbePartitions.Union(partitions, "shape, id, first_ts_ns, rtt_ns, answered, verdict_cost_ns", where.ToString()) +
                              ") p JOIN probe_shapes s ON s.id = p.shape ORDER BY s.src, s.dst";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var shape = Shape(reader.GetInt64(0));
            yield return new PathProbeRow(shape.Src, shape.Dst, reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3),
                reader.GetInt64(4) != 0, shape.VerdictKind, reader.GetInt64(5), shape.VerdictLeg);
        }
    }

    public IEnumerable<LossProbeRow> LossRows(string? src, string? dst, long sinceNs, long untilNs, bool orderByRun)
    {
        var partitions = Partitions(sinceNs, untilNs);
        if (partitions.Count == 0)
        {
            yield break;
        }

        using var command = CreateCommand();
        var where = Where(command, src, dst, sinceNs, untilNs).ToString();
        command.CommandText = "SELECT p.shape, p.icmp_id, p.icmp_seq, p.first_ts_ns, p.answered FROM (" +
                              ProbePartitions.Union(partitions, "shape, icmp_id, icmp_seq, first_ts_ns, answered", where) +
                              ") p" +
                              // Loss sums in any order (the builder orders its output); freezes flush run by run.
                              (orderByRun ? " JOIN probe_shapes s ON s.id = p.shape ORDER BY s.src, s.dst, p.icmp_id, p.first_ts_ns, p.icmp_seq" : "");
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var shape = Shape(reader.GetInt64(0)).Record;
            var answered = reader.GetInt64(4) != 0;
            yield return new LossProbeRow(shape.Src, shape.Dst, (uint)reader.GetInt64(1), (ushort)reader.GetInt64(2),
                reader.GetInt64(3), answered, shape.LostIn, answered ? "" : shape.LostLeg, answered ? "" : shape.LostAfter);
        }
    }

    public IEnumerable<RollupRow> Rollups(RollupWidth width, string? src, string? dst, long sinceNs, long untilNs)
    {
        using var command = CreateCommand();
        var where = new StringBuilder("1 = 1");
        Match(where, command, "src", src);
        Match(where, command, "dst", dst);
        Range(where, command, "bucket_ns", sinceNs, untilNs);

        // No ORDER BY: it would draw SQLite to the primary key's order (a scan of every path's
        // history) instead of the bucket index's range; callers order what they read.
        command.CommandText = $"SELECT {SqliteRollups.Columns} FROM {SqliteRollups.Table(width)} WHERE {where}";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return SqliteRollups.Read(reader);
        }
    }

    /// <summary>
    /// The filter as SQL; the window is on arrival_ns, the correlator's own clock, so a capturing
    /// node whose clock is off still falls in the window it was seen in.
    /// </summary>
    internal static StringBuilder Where(SqliteCommand command, string? src, string? dst, long sinceNs, long untilNs)
    {
        var where = new StringBuilder("1 = 1");
        if (!string.IsNullOrEmpty(src) || !string.IsNullOrEmpty(dst))
        {
            // The path is in the shape: the probes of the path's shapes (by the shape index).
            where.Append(" AND shape IN (SELECT id FROM probe_shapes WHERE 1 = 1");
            Match(where, command, "src", src);
            Match(where, command, "dst", dst);
            where.Append(')');
        }

        Range(where, command, "arrival_ns", sinceNs, untilNs);
        return where;
    }

    /// <summary>" AND column = $column" when <paramref name="value"/> is given.</summary>
    private static void Match(StringBuilder where, SqliteCommand command, string column, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            where.Append(CultureInfo.InvariantCulture, $" AND {column} = ${column}");
            command.Parameters.AddWithValue("$" + column, value);
        }
    }

    /// <summary>The window [since, until] on <paramref name="column"/> (0 = open end).</summary>
    private static void Range(StringBuilder where, SqliteCommand command, string column, long sinceNs, long untilNs)
    {
        if (sinceNs != 0)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND {column} >= $since");
            command.Parameters.AddWithValue("$since", sinceNs);
        }

        if (untilNs != 0)
        {
            where.Append(CultureInfo.InvariantCulture, $" AND {column} <= $until");
            command.Parameters.AddWithValue("$until", untilNs);
        }
    }

    public void Dispose()
    {
        // Unregistered first (waiting for a running callback), so no interrupt reaches a pooled connection.
        _interrupt.Dispose();
        _snapshot.Dispose();
        Connection.Dispose();
    }

    private List<ProbePartition> AllPartitions() => _partitions ??= ProbePartitions.List(Connection, _snapshot);

    private static StringBuilder ProbeWhere(SqliteCommand command, ProbeFilter filter)
    {
        var where = Where(command, filter.Src, filter.Dst, filter.SinceNs, filter.UntilNs);
        if (filter.MinRttNs > 0)
        {
            where.Append(" AND rtt_ns >= $min_rtt");
            command.Parameters.AddWithValue("$min_rtt", filter.MinRttNs);
        }

        if (filter.LostOnly)
        {
            where.Append(" AND answered = 0");
        }

        if (filter.ThroughId > 0)
        {
            // "+id": a bound on the rowid must not become the plan's range, or every page sorts the
            // whole partition by arrival (a page of 1,000 took 5 s in a million-probe day, 30 ms so).
            where.Append(" AND +id <= $through");
            command.Parameters.AddWithValue("$through", filter.ThroughId);
        }

        if (filter.After is { } after)
        {
            // Row-value order spelled out, with a plain bound on arrival_ns first for the index's range.
            where.Append(" AND arrival_ns <= $after_arrival AND (arrival_ns < $after_arrival OR first_ts_ns < $after_first OR (first_ts_ns = $after_first AND id < $after_id))");
            command.Parameters.AddWithValue("$after_arrival", after.ArrivalNs);
            command.Parameters.AddWithValue("$after_first", after.FirstTsNs);
            command.Parameters.AddWithValue("$after_id", after.Id);
        }

        return where;
    }

    private object? Scalar(string sql)
    {
        using var command = CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private ProbeShape Shape(long id) => _shapes.Get(Connection, _snapshot, id);

    private ProbeRecord? ReadOne(SqliteCommand command)
    {
        using var reader = command.ExecuteReader();
        return reader.Read() ? ProbeRows.Read(reader, Shape) : null;
    }
}
