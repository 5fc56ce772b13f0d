using Google.Protobuf;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// The insert into one partition as a prepared SQLite statement driven through SQLitePCL directly:
/// values are bound without boxing and the record blob is written into one reused buffer. At ingest
/// rates (tens of thousands of probes a second) the ADO.NET path's per-row reader and parameter
/// objects cost more than SQLite's own work. Ids are given by the caller (one sequence across
/// partitions, see <see cref="ProbeAppender"/>).
/// </summary>
internal sealed class ProbeInserter : IDisposable
{
    private const int SqliteDone = 101;

    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;
    private byte[] _buffer = new byte[4096];

    internal ProbeInserter(SqliteConnection connection, string partition)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        var db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        // Bind order is ProbePartitions.Columns.
        var sql = $"INSERT INTO {partition}({ProbePartitions.Columns}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)";
        var rc = raw.sqlite3_prepare_v2(db, sql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, db);
    }

    /// <summary>Inserts one record with <paramref name="id"/> (in the connection's open transaction, if any).</summary>
    public void Insert(ProbeRecord record, long id, long arrivalNs)
    {
        ArgumentNullException.ThrowIfNull(record);
        var db = _connection.Handle!;
        var callerId = record.Id;
        record.Id = 0; // the id is the row's key, not part of the stored blob
        var size = record.CalculateSize();
        if (size > _buffer.Length)
        {
            _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
        }

        record.WriteTo(_buffer.AsSpan(0, size));
        record.Id = callerId;

        var s = _statement;
        raw.sqlite3_bind_int64(s, 1, id);
        raw.sqlite3_bind_text(s, 2, record.Src);
        raw.sqlite3_bind_text(s, 3, record.Dst);
        raw.sqlite3_bind_int64(s, 4, record.Key?.IcmpId ?? 0);
        raw.sqlite3_bind_int64(s, 5, record.Key?.IcmpSeq ?? 0);
        raw.sqlite3_bind_int64(s, 6, record.FirstTsNs);
        raw.sqlite3_bind_int64(s, 7, arrivalNs);
        raw.sqlite3_bind_int64(s, 8, record.RttNs);
        raw.sqlite3_bind_int(s, 9, record.Answered ? 1 : 0);
        raw.sqlite3_bind_text(s, 10, record.Verdict?.Kind ?? "");
        raw.sqlite3_bind_int64(s, 11, record.Verdict?.CostNs ?? 0);
        raw.sqlite3_bind_text(s, 12, record.LostIn);
        raw.sqlite3_bind_int(s, 13, record.Imported ? 1 : 0);
        raw.sqlite3_bind_blob(s, 14, _buffer.AsSpan(0, size));
        raw.sqlite3_bind_text(s, 15, record.VerdictLeg());
        var rc = raw.sqlite3_step(s);
        raw.sqlite3_reset(s);
        if (rc != SqliteDone)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    public void Dispose() => _statement.Dispose();
}
