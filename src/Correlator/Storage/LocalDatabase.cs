using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// The correlator's own SQLite file (Correlator:Database) for what each correlator keeps for
/// itself beside the results store: host evidence and incidents. With the sqlite provider it is
/// the results store's file; with postgres it is a file of this correlator's alone (two
/// correlators sharing one PostgreSQL history each keep their own evidence and incidents).
/// </summary>
public sealed class LocalDatabase
{
    private readonly string _connectionString;
    private readonly Lazy<bool> _wal;

    public LocalDatabase(IOptions<CorrelatorOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Path = System.IO.Path.GetFullPath(options.Value.Database);
        _connectionString = SqliteResultsStore.ConnectionString(Path);
        _wal = new(SwitchToWal);
    }

    /// <summary>Full path of the file.</summary>
    public string Path { get; }

    /// <summary>A connection that waits up to 10 s for the file's writer instead of failing.</summary>
    public SqliteConnection Open()
    {
        _ = _wal.Value;
        return SqliteResultsStore.Open(_connectionString);
    }

    /// <summary>
    /// A connection for one query whose running statement is interrupted (sqlite3_interrupt) when
    /// <paramref name="cancellationToken"/> fires, so a caller who gave up leaves no scan behind.
    /// </summary>
    public LocalQuery OpenQuery(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new LocalQuery(Open(), cancellationToken);
    }

    // WAL keeps readers off the writer's back; a no-op when the results store switched the file already.
    private bool SwitchToWal()
    {
        using var connection = SqliteResultsStore.Open(_connectionString);
        SqliteResultsStore.Execute(connection, "PRAGMA journal_mode = WAL;");
        return true;
    }
}

/// <summary>One interruptible query on the <see cref="LocalDatabase"/>.</summary>
public sealed class LocalQuery : IDisposable
{
    private readonly CancellationTokenRegistration _interrupt;

    internal LocalQuery(SqliteConnection connection, CancellationToken cancellationToken)
    {
        Connection = connection;
        _interrupt = cancellationToken.Register(static c => SQLitePCL.raw.sqlite3_interrupt(((SqliteConnection)c!).Handle), connection);
    }

    public SqliteConnection Connection { get; }

    public SqliteCommand CreateCommand() => Connection.CreateCommand();

    public void Dispose()
    {
        // Unregistered first (waiting for a running callback), so no interrupt reaches a pooled connection.
        _interrupt.Dispose();
        Connection.Dispose();
    }
}
