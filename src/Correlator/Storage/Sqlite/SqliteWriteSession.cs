using Microsoft.Data.Sqlite;
using HopCapture.Correlator.Journal;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// The store writer's connection with its prepared appender and rollup book. New day partitions
/// and retention's dropped ones happen on this connection between transactions, so no insert
/// meets a dropped table.
/// </summary>
public sealed class SqliteWriteSession : IStoreWriteSession
{
    private readonly SqliteConnection _connection;
    private readonly ProbeAppender _append;
    private readonly RollupBook _rollups;
    private readonly RollupSaver _rollupSaver;
    private readonly WalCheckpointer _checkpointer;
    private readonly RawRetention _retention;
    private readonly RetentionOptions _options;
    private SqliteTransaction? _transaction;

    internal SqliteWriteSession(SqliteResultsStore store, RetentionOptions options, ILogger logger)
    {
        _options = options;
        _connection = store.Open();
        try
        {
            // WAL with synchronous NORMAL: a commit is on disk at the next checkpoint, not at
            // once; a power cut may lose the last moments of probes but never corrupts the file.
            // Checkpoints run beside the writer (WalCheckpointer), every thousand probes or so.
            SqliteResultsStore.Execute(_connection, "PRAGMA synchronous = NORMAL;");
            WalCheckpointer.Configure(_connection);
            _append = SqliteResultsStore.PrepareAppend(_connection);
            _checkpointer = new WalCheckpointer(store, logger);
        }
        catch
        {
            _append?.Dispose();
            _connection.Dispose();
            throw;
        }

        _rollupSaver = new RollupSaver(_connection);
        _rollups = new RollupBook((width, key) => SqliteRollups.Load(_connection, _transaction, width, key), width => SqliteRollups.Newest(_connection, _transaction, width));
        _retention = new RawRetention(options, logger);
    }

    /// <summary>The session's connection (the benchmark and tests read sizes on it).</summary>
    public SqliteConnection Connection => _connection;

    public int Write(IReadOnlyList<ProbeRecord> records, long replayedThroughNs)
    {
        ArgumentNullException.ThrowIfNull(records);
        var duplicates = 0;
        _checkpointer.ThrowIfFailed(_connection);
        using var transaction = _connection.BeginTransaction();
        _transaction = transaction;
        try
        {
            foreach (var record in records)
            {
                record.Id = 0;
                // Capture identity, not arrival: a replayed probe arrives again, later.
                if (record.FirstTsNs <= replayedThroughNs && _append.Exists(record, transaction))
                {
                    duplicates++;
                    continue;
                }

                record.Id = _append.Append(record, transaction);
                _rollups.Add(record);
            }

            _rollupSaver.Save(_rollups.TakeDirty());
            transaction.Commit();
            _checkpointer.Committed(records.Count - duplicates);
            return duplicates;
        }
        finally
        {
            _transaction = null;
        }
    }

    public void SaveCheckpoint(JournalCheckpoint checkpoint) => SqliteResultsStore.SaveJournalCheckpoint(_connection, checkpoint);

    public RetentionPass ApplyRetention(long nowNs)
    {
        var pass = _retention.Apply(_connection, nowNs);
        if (pass.DroppedByAge + pass.DroppedBySize > 0)
        {
            _append.Reload();
        }

        if (_options.Rollups > TimeSpan.Zero)
        {
            pass = pass with { RollupRowsDropped = SqliteRollups.DeleteBefore(_connection, nowNs - (_options.Rollups.Ticks * 100)) };
        }

        return pass;
    }

    public void Dispose()
    {
        _checkpointer.Dispose();
        _append.Dispose();
        _rollupSaver.Dispose();
        _connection.Dispose();
    }
}
