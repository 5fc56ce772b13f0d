using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// Writes rollup rows whole (insert or replace) through one prepared statement per width, kept
/// for the life of the write session and driven through SQLitePCL (<see cref="RawStatement"/>):
/// a commit saves every row its probes touched, and building a command with boxed parameters
/// and a histogram array per row cost more than SQLite's own work (issue 12).
/// </summary>
internal sealed class RollupSaver : IDisposable
{
    private readonly SqliteConnection _connection;
    private readonly Dictionary<RollupWidth, sqlite3_stmt> _statements = [];
    private byte[] _histogram = new byte[256];

    internal RollupSaver(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
    }

    /// <summary>Writes <paramref name="rows"/> in the connection's open transaction.</summary>
    public void Save(IReadOnlyList<(RollupWidth Width, RollupRow Row)> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var db = RawStatement.Handle(_connection);
        foreach (var (width, row) in rows)
        {
            var s = Statement(db, width);
            raw.sqlite3_bind_text(s, 1, row.Src);
            raw.sqlite3_bind_text(s, 2, row.Dst);
            raw.sqlite3_bind_int64(s, 3, row.BucketNs);
            raw.sqlite3_bind_text(s, 4, row.Kind);
            raw.sqlite3_bind_text(s, 5, row.Leg);
            raw.sqlite3_bind_text(s, 6, row.LostIn);
            raw.sqlite3_bind_text(s, 7, row.LostLeg);
            raw.sqlite3_bind_text(s, 8, row.LostAfter);
            raw.sqlite3_bind_int64(s, 9, row.Probes);
            raw.sqlite3_bind_int64(s, 10, row.Lost);
            raw.sqlite3_bind_int64(s, 11, row.Slow);
            raw.sqlite3_bind_int64(s, 12, row.CostNs);
            raw.sqlite3_bind_int64(s, 13, row.SlowCostNs);
            raw.sqlite3_bind_int64(s, 14, row.FirstTsNs);
            raw.sqlite3_bind_int64(s, 15, row.LastTsNs);
            raw.sqlite3_bind_int64(s, 16, row.WorstId);
            raw.sqlite3_bind_int64(s, 17, row.WorstRttNs);
            // Written first: WriteTo may replace the buffer with a larger one.
            var histogramBytes = row.Rtt.WriteTo(ref _histogram);
            raw.sqlite3_bind_blob(s, 18, _histogram.AsSpan(0, histogramBytes));
            RawStatement.Run(db, s);
        }
    }

    public void Dispose()
    {
        foreach (var statement in _statements.Values)
        {
            statement.Dispose();
        }

        _statements.Clear();
    }

    private sqlite3_stmt Statement(sqlite3 db, RollupWidth width)
    {
        if (!_statements.TryGetValue(width, out var statement))
        {
            // Bind order is RollupColumns.All.
            var values = string.Join(", ", Enumerable.Range(1, SqliteRollups.Columns.Split(", ").Length).Select(static i => "?" + i));
            statement = RawStatement.Prepare(db, $"INSERT OR REPLACE INTO {SqliteRollups.Table(width)}({SqliteRollups.Columns}) VALUES ({values})");
            _statements[width] = statement;
        }

        return statement;
    }
}
