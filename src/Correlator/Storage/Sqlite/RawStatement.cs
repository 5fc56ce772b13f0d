using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// Prepared statements driven through SQLitePCL directly, for the writer's per-row inserts
/// (<see cref="ProbeInserter"/>, <see cref="RollupSaver"/>): values bound without boxing, no
/// reader or parameter objects per row. Errors come out as Microsoft.Data.Sqlite's exceptions.
/// </summary>
internal static class RawStatement
{
    private const int SqliteDone = 101;

    /// <summary>The open connection's handle.</summary>
    public static sqlite3 Handle(SqliteConnection connection) =>
        connection.Handle ?? throw new InvalidOperationException("the connection is not open");

    public static sqlite3_stmt Prepare(sqlite3 db, string sql)
    {
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        SqliteException.ThrowExceptionForRC(rc, db);
        return statement;
    }

    /// <summary>Runs a bound statement that returns no rows and resets it for the next row.</summary>
    public static void Run(sqlite3 db, sqlite3_stmt statement)
    {
        var rc = raw.sqlite3_step(statement);
        raw.sqlite3_reset(statement);
        if (rc != SqliteDone)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }
}
