using HopCapture.Correlator.Hosting;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage;

/// <summary>The two things ingest writes before a batch is safe: the journal (before the ack) and the results store.</summary>
public enum StorePart
{
    Journal,
    Store,
}

/// <summary>A part that cannot write: since when (unix ns), and why.</summary>
public sealed record StoreFault(StorePart Part, string Problem, long SinceNs);

/// <summary>
/// Whether the journal and the results store can write (disk full, read-only, I/O errors). A
/// part that cannot is retried by its writer, never dropped; while either cannot, ingest is held
/// back — no batch is journalled or acked, so the agents' streams stall and their spools keep the
/// data — and <c>capture agents</c>, the <c>hopcapture-store-unwritable</c> alert and
/// <c>hopcapture_store_writable</c> say so. One log line when a part stops writing and one when
/// it writes again, not one per retry.
/// </summary>
public sealed partial class StoreHealth(TimeProvider timeProvider, ILogger<StoreHealth> logger)
{
    /// <summary>How long a writer waits before trying a part that could not write again.</summary>
    public static readonly TimeSpan RetryEvery = TimeSpan.FromMilliseconds(500);

    private readonly Lock _gate = new();
    private readonly StoreFault?[] _faults = new StoreFault?[2];
    private readonly TaskCompletionSource[] _writable = [Completed(), Completed()];
    private long _heldNs;

    /// <summary>The parts that cannot write now, oldest fault first (empty while both write).</summary>
    public IReadOnlyList<StoreFault> Faults
    {
        get
        {
            lock (_gate)
            {
                return [.. _faults.OfType<StoreFault>().OrderBy(f => f.SinceNs)];
            }
        }
    }

    public bool Faulted(StorePart part) => Volatile.Read(ref _faults[(int)part]) is not null;

    /// <summary>Nanoseconds ingest was held back in faults that have ended.</summary>
    public long HeldNs => Interlocked.Read(ref _heldNs);

    /// <summary>
    /// A write, open or flush failure that more disk space, permissions or a repaired disk will
    /// cure — worth retrying without losing the data — as opposed to a problem with the data.
    /// </summary>
    public static bool IsUnwritable(Exception exception) => exception switch
    {
        // Primary result codes: SQLITE_PERM, BUSY, LOCKED, READONLY, IOERR, FULL, CANTOPEN.
        SqliteException sqlite => (sqlite.SqliteErrorCode & 0xff) is 3 or 5 or 6 or 8 or 10 or 13 or 14,
        IOException or UnauthorizedAccessException => true,
        _ => exception.InnerException is { } inner && IsUnwritable(inner),
    };

    /// <summary>Completes once <paramref name="part"/> writes again (at once when it does).</summary>
    public Task WritableAsync(StorePart part, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _writable[(int)part].Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary><paramref name="part"/> could not write; the writer retries after <see cref="RetryEvery"/>.</summary>
    public void Failed(StorePart part, string target, Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        lock (_gate)
        {
            if (_faults[(int)part] is not null)
            {
                return;
            }

            _faults[(int)part] = new StoreFault(part, exception.Message, timeProvider.NowNs());
            _writable[(int)part] = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        Log.CannotWrite(logger, Name(part), target, exception.Message);
    }

    /// <summary><paramref name="part"/> wrote: a fault it had is over.</summary>
    public void Wrote(StorePart part)
    {
        // Read without the lock first: the hot path of every write.
        if (Volatile.Read(ref _faults[(int)part]) is null)
        {
            return;
        }

        StoreFault? ended;
        lock (_gate)
        {
            ended = _faults[(int)part];
            _faults[(int)part] = null;
            _writable[(int)part].TrySetResult();
        }

        if (ended is not null)
        {
            var heldNs = timeProvider.NowNs() - ended.SinceNs;
            Interlocked.Add(ref _heldNs, heldNs);
            var name = Name(part);
            Log.WritesAgain(logger, name, heldNs / 1e9);
        }
    }

    public static string Name(StorePart part) => part == StorePart.Journal ? "ingest journal" : "results store";

    private static TaskCompletionSource Completed()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        done.SetResult();
        return done;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3020, Level = LogLevel.Error,
            Message = "The {Part} cannot write to {Target} ({Problem}): ingest is held back — no batch is acked, agents keep theirs in their spools — and retried until it can")]
        public static partial void CannotWrite(ILogger logger, string part, string target, string problem);

        [LoggerMessage(EventId = 3021, Level = LogLevel.Information, Message = "The {Part} writes again after {Seconds:0.0} s; ingest resumes")]
        public static partial void WritesAgain(ILogger logger, string part, double seconds);
    }
}
