using System.Threading.Channels;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// Copies the write-ahead log into the database file on a connection and thread of its own, so
/// the store writer's commits do not pay for it. SQLite's automatic checkpoint runs inside the
/// commit that crosses its threshold (1000 pages by default): at ingest rates that was every
/// second or third commit, on the writer's thread (issue 12). Here the writer reports what it
/// committed and, every <see cref="EveryProbes"/> probes (a few hundred log pages, about SQLite's
/// own threshold), a PASSIVE checkpoint runs beside it (never waiting for a lock, never blocking
/// the writer or readers). The writer keeps an automatic checkpoint at <see cref="BackstopPages"/>:
/// a checkpoint that runs alongside a busy writer may never catch up with the log's end, which
/// the log needs in order to start over from its beginning; that one, on the writer's thread, then
/// has only the frames not yet copied to do. A checkpoint that failed (the disk full) is run again
/// by the writer before its next commit, so the failure is the writer's, as it was.
/// Durability is unchanged (synchronous NORMAL): a commit is on disk once a checkpoint synced the log.
/// </summary>
internal sealed partial class WalCheckpointer : IDisposable
{
    /// <summary>The writer's own automatic checkpoint threshold, in pages (~64 MB of log with 4 KiB pages).</summary>
    public const int BackstopPages = 16_384;

    /// <summary>Probes committed between checkpoints.</summary>
    public const int EveryProbes = 1000;

    private readonly SqliteConnection _connection;
    private readonly ILogger _logger;
    private readonly Channel<bool> _nudges = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly Task _loop;
    private int _sinceCheckpoint;
    private volatile bool _failed;

    public WalCheckpointer(SqliteResultsStore store, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        _logger = logger;
        _connection = store.Open();
        _loop = Task.Run(Run);
    }

    /// <summary>Sets the writer's connection's own checkpoint to the backstop.</summary>
    public static void Configure(SqliteConnection writer) =>
        SqliteResultsStore.Execute(writer, $"PRAGMA wal_autocheckpoint = {BackstopPages};");

    /// <summary>Counts a commit of <paramref name="probes"/> probes; asks for a checkpoint (never blocking) every <see cref="EveryProbes"/>.</summary>
    public void Committed(int probes)
    {
        _sinceCheckpoint += probes;
        if (_sinceCheckpoint >= EveryProbes)
        {
            _sinceCheckpoint = 0;
            _nudges.Writer.TryWrite(true);
        }
    }

    /// <summary>
    /// Before a commit on <paramref name="writer"/>: when the last checkpoint failed, runs it here
    /// (throwing its error, so the commit is not made while the file cannot take the log).
    /// </summary>
    public void ThrowIfFailed(SqliteConnection writer)
    {
        if (!_failed)
        {
            return;
        }

        SqliteResultsStore.Execute(writer, "PRAGMA wal_checkpoint(PASSIVE);");
        _failed = false;
    }

    /// <summary>Lets a running checkpoint finish (PASSIVE: it waits for no lock), then closes the connection.</summary>
    public void Dispose()
    {
        _nudges.Writer.TryComplete();
        _loop.GetAwaiter().GetResult();
        _connection.Dispose();
    }

    private async Task Run()
    {
        await foreach (var _ in _nudges.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            try
            {
                SqliteResultsStore.Execute(_connection, "PRAGMA wal_checkpoint(PASSIVE);");
            }
            catch (SqliteException e)
            {
                // The writer runs it again before its next commit (ThrowIfFailed).
                _failed = true;
                Log.Failed(_logger, e.SqliteErrorCode, e.Message);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3016, Level = LogLevel.Warning, Message = "WAL checkpoint failed (SQLite error {Code}: {Reason}); the store writer runs it again before its next commit")]
        public static partial void Failed(ILogger logger, int code, string reason);
    }
}
