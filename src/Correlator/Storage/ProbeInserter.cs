using Google.Protobuf;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// The probes insert as one prepared SQLite statement driven through SQLitePCL directly: values are
/// bound without boxing, the record blob is written into one reused buffer, and the id comes from
/// last_insert_rowid. At ingest rates (tens of thousands of probes a second) the ADO.NET path's
/// per-row reader and parameter objects cost more than SQLite's own work.
/// </summary>
public sealed class ProbeInserter : IDisposable
{
    private const int SqliteDone = 101;

    // Column order here is the bind order in Insert.
    private const string Sql =
        "INSERT INTO probes(src, dst, icmp_id, icmp_seq, first_ts_ns, rtt_ns, answered, verdict_kind, verdict_cost_ns, lost_in, imported, record, verdict_leg) " +
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

    private readonly SqliteConnection _connection;
    private readonly sqlite3_stmt _statement;
    private byte[] _buffer = new byte[4096];

    internal ProbeInserter(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
        var db = connection.Handle ?? throw new InvalidOperationException("the connection is not open");
        var rc = raw.sqlite3_prepare_v2(db, Sql, out _statement);
        SqliteException.ThrowExceptionForRC(rc, db);
    }

    /// <summary>Inserts one record (in the connection's open transaction, if any) and returns its id.</summary>
    public long Insert(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var db = _connection.Handle!;
        var id = record.Id;
        record.Id = 0; // the id is the row's key, not part of the stored blob
        var size = record.CalculateSize();
        if (size > _buffer.Length)
        {
            _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
        }

        record.WriteTo(_buffer.AsSpan(0, size));
        record.Id = id;

        var s = _statement;
        raw.sqlite3_bind_text(s, 1, record.Src);
        raw.sqlite3_bind_text(s, 2, record.Dst);
        raw.sqlite3_bind_int64(s, 3, record.Key?.IcmpId ?? 0);
        raw.sqlite3_bind_int64(s, 4, record.Key?.IcmpSeq ?? 0);
        raw.sqlite3_bind_int64(s, 5, record.FirstTsNs);
        raw.sqlite3_bind_int64(s, 6, record.RttNs);
        raw.sqlite3_bind_int(s, 7, record.Answered ? 1 : 0);
        raw.sqlite3_bind_text(s, 8, record.Verdict?.Kind ?? "");
        raw.sqlite3_bind_int64(s, 9, record.Verdict?.CostNs ?? 0);
        raw.sqlite3_bind_text(s, 10, record.LostIn);
        raw.sqlite3_bind_int(s, 11, record.Imported ? 1 : 0);
        raw.sqlite3_bind_blob(s, 12, _buffer.AsSpan(0, size));
        raw.sqlite3_bind_text(s, 13, record.VerdictLeg());
        var rc = raw.sqlite3_step(s);
        raw.sqlite3_reset(s);
        if (rc != SqliteDone)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }

        return raw.sqlite3_last_insert_rowid(db);
    }

    public void Dispose() => _statement.Dispose();
}
