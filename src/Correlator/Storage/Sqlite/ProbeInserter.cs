using HopCapture.Protos;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// The insert into one partition as a prepared SQLite statement driven through SQLitePCL directly
/// (<see cref="RawStatement"/>): values are bound without boxing and the numbers (<see cref="ProbeCodec"/>) are written into one reused buffer. At ingest
/// rates (tens of thousands of probes a second) the ADO.NET path's per-row reader and parameter
/// objects cost more than SQLite's own work. Ids are given by the caller (one sequence across
/// partitions, see <see cref="ProbeAppender"/>).
/// </summary>
internal sealed class ProbeInserter : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;
    private byte[] _buffer = new byte[1024];

    internal ProbeInserter(SqliteConnection connection, string partition)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        // Bind order is ProbePartitions.Columns.
        _statement = RawStatement.Prepare(RawStatement.Handle(connection), $"INSERT INTO {partition}({ProbePartitions.Columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    }

    /// <summary>Inserts one record with <paramref name="id"/> and shape <paramref name="shape"/> (in the connection's open transaction, if any).</summary>
    public void Insert(ProbeRecord record, long id, long shape, long arrivalNs)
    {
        ArgumentNullException.ThrowIfNull(record);
        var db = _connection.Handle!;
        var size = ProbeCodec.Numbers(record, ref _buffer);
        var s = _statement;
        raw.sqlite3_bind_int64(s, 1, id);
        raw.sqlite3_bind_int64(s, 2, shape);
        raw.sqlite3_bind_int64(s, 3, record.Key?.IcmpId ?? 0);
        raw.sqlite3_bind_int64(s, 4, record.Key?.IcmpSeq ?? 0);
        raw.sqlite3_bind_int64(s, 5, record.FirstTsNs);
        raw.sqlite3_bind_int64(s, 6, arrivalNs);
        raw.sqlite3_bind_int64(s, 7, record.RttNs);
        raw.sqlite3_bind_int(s, 8, record.Answered ? 1 : 0);
        raw.sqlite3_bind_int64(s, 9, record.Verdict?.CostNs ?? 0);
        raw.sqlite3_bind_blob(s, 10, _buffer.AsSpan(0, size));
        RawStatement.Run(db, s);
    }

    public void Dispose() => _statement.Dispose();
}
