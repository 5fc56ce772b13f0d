using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// Appends probes on the store writer's one connection: each into the day partition of its
/// arrival time (created on first use), with ids from one sequence across partitions so an id
/// names one probe for the life of the file, and each in the compact form of <see cref="ProbeCodec"/>
/// (new shapes stored on first use). It also answers the journal replay's "stored already?" on the
/// capture identity (shape, ICMP key, first_ts_ns) across every partition, since a replayed probe
/// arrives again with a new arrival time.
/// Callers run it inside their transaction; after a failed one they dispose it and start afresh.
/// </summary>
public sealed class ProbeAppender : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Dictionary<string, ProbeInserter> _inserters = new(StringComparer.Ordinal);
    private readonly ProbeShapeIds _shapes;
    private List<ProbePartition> _partitions;
    private SqliteCommand? _exists;
    private long _lastId;
    private (long Day, ProbeInserter? Inserter) _current;

    public ProbeAppender(SqliteConnection connection, SqliteTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        _partitions = ProbePartitions.List(connection, transaction);
        _lastId = ProbePartitions.MaxId(connection, transaction);
        _shapes = new ProbeShapeIds(ProbeShapes.LoadIds(connection, transaction));
    }

    /// <summary>
    /// Stores <paramref name="record"/> in its arrival day's partition and sets its id. A record
    /// without an arrival time (0: written by something other than the engine) is filed by its
    /// capture time.
    /// </summary>
    public long Append(ProbeRecord record, SqliteTransaction? transaction = null) => Append(record, ++_lastId, transaction);

    /// <summary>Stores <paramref name="record"/> with a given id (the v5 migration keeps the ids it converts).</summary>
    internal long Append(ProbeRecord record, long id, SqliteTransaction? transaction)
    {
        ArgumentNullException.ThrowIfNull(record);
        var arrivalNs = record.ArrivalNs != 0 ? record.ArrivalNs : record.FirstTsNs;
        var day = ProbePartitions.DayStart(arrivalNs);
        var inserter = _current.Day == day && _current.Inserter is { } same ? same : InserterFor(day, transaction);
        _lastId = Math.Max(_lastId, id);
        inserter.Insert(record, id, ShapeOf(record, transaction, create: true), arrivalNs);
        return id;
    }

    /// <summary>The inserter of the day partition starting at <paramref name="day"/>, the partition created on first use; kept as the current one (most probes arrive today).</summary>
    private ProbeInserter InserterFor(long day, SqliteTransaction? transaction)
    {
        var name = ProbePartitions.NameOf(day);
        if (!_inserters.TryGetValue(name, out var inserter))
        {
            if (!_partitions.Exists(p => p.Name == name))
            {
                _partitions.Add(ProbePartitions.Create(_connection, day, transaction));
                Invalidate();
            }

            inserter = new ProbeInserter(_connection, name);
            _inserters[name] = inserter;
        }

        _current = (day, inserter);
        return inserter;
    }

    /// <summary>Whether a probe with this capture identity is stored in any partition.</summary>
    public bool Exists(ProbeRecord record, SqliteTransaction? transaction = null)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (_partitions.Count == 0)
        {
            return false;
        }

        // The same capture re-formed from the journal has the same shape: unknown shape, not stored.
        var shape = ShapeOf(record, transaction, create: false);
        if (shape == 0)
        {
            return false;
        }

        _exists ??= PrepareExists();
        _exists.Transaction = transaction;
        _exists.Parameters["$shape"].Value = shape;
        _exists.Parameters["$ts"].Value = record.FirstTsNs;
        _exists.Parameters["$id"].Value = (long)(record.Key?.IcmpId ?? 0);
        _exists.Parameters["$seq"].Value = (long)(record.Key?.IcmpSeq ?? 0);
        return _exists.ExecuteScalar() is not null;
    }

    /// <summary>Forgets the partitions known, after retention dropped some on this connection.</summary>
    public void Reload()
    {
        _partitions = ProbePartitions.List(_connection);
        foreach (var name in _inserters.Keys.Where(n => !_partitions.Exists(p => p.Name == n)).ToList())
        {
            _inserters.Remove(name, out var gone);
            gone!.Dispose();
        }

        _current = default;

        Invalidate();
    }

    public void Dispose()
    {
        _exists?.Dispose();
        foreach (var inserter in _inserters.Values)
        {
            inserter.Dispose();
        }

        _inserters.Clear();
        _current = default;
    }

    private SqliteCommand PrepareExists()
    {
        var command = _connection.CreateCommand();
        // Newest partitions first: a replayed probe was stored moments before the crash.
        var newestFirst = _partitions.Select(p => p.Name).Reverse().ToList();
        command.CommandText = ProbePartitions.Union(newestFirst, "1",
            "shape = $shape AND first_ts_ns = $ts AND icmp_id = $id AND icmp_seq = $seq") + " LIMIT 1";
        command.Parameters.Add("$shape", SqliteType.Integer);
        command.Parameters.Add("$ts", SqliteType.Integer);
        command.Parameters.Add("$id", SqliteType.Integer);
        command.Parameters.Add("$seq", SqliteType.Integer);
        return command;
    }

    /// <summary>The id of the record's shape, stored on first use when <paramref name="create"/> (0 when unknown and not created).</summary>
    private long ShapeOf(ProbeRecord record, SqliteTransaction? transaction, bool create)
    {
        var id = _shapes.Find(record, out var unknown);
        if (unknown is null || !create)
        {
            return id;
        }

        id = ProbeShapes.Insert(_connection, transaction, record, unknown);
        _shapes.Add(unknown, id);
        return id;
    }

    private void Invalidate()
    {
        _exists?.Dispose();
        _exists = null;
    }
}
