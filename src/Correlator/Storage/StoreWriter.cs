using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Ingest;
using HopCapture.Correlator.Journal;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// Writes finalised probes in transactions of up to <see cref="MaxBatch"/> with one prepared
/// insert, then publishes the ones it stored (ids set) on the <see cref="StoredProbeBus"/>: a
/// batch the database refused is logged and counted, and reaches no alert, metric or Watch. It
/// reads until the engine host completes the channel, so everything flushed at shutdown is stored.
/// After each transaction (and each second when idle) it persists the journal checkpoint the
/// stored probes cover and lets the journal drop what is before it. A probe that may have been
/// stored before a crash (first seen no later than the newest replayed observation) is looked
/// up first and skipped if present: exactly once in the store.
/// </summary>
public sealed partial class StoreWriter(
    ProbeStore store,
    AgentRegistry registry,
    CorrelatorChannels channels,
    StoredProbeBus stored,
    JournalCheckpoints checkpoints,
    IngestJournal journal,
    ILogger<StoreWriter> logger) : BackgroundService
{
    public const int MaxBatch = 1000;

    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    private long _stored;
    private long _failed;
    private long _duplicates;
    private long _handled;

    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Probes lost because the database refused the write (or they could not be mapped).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Probes re-formed from the journal after a crash that the store already had (skipped).</summary>
    public long ReplayedDuplicates => Interlocked.Read(ref _duplicates);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        // Schema first: a bad database file must stop the start before the port opens.
        store.Initialize();
        registry.LoadPersisted(store.LoadAgents());
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The engine host stopped before us and completed the channel; this only guards a host
        // whose engine never ran, so the loop below cannot wait forever.
        channels.Results.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var reader = channels.Results.Reader;
        var batch = new List<StoredProbe>(MaxBatch);
        SqliteConnection? connection = null;
        ProbeInserter? insert = null;
        SqliteCommand? exists = null;
        Task<bool>? waitRead = null;
        try
        {
            // Deliberately not cancelled by stoppingToken: shutdown ends when the channel is complete.
            while (true)
            {
                waitRead ??= reader.WaitToReadAsync(CancellationToken.None).AsTask();
                if (!waitRead.IsCompleted)
                {
                    await Task.WhenAny(waitRead, Task.Delay(CheckpointEvery, CancellationToken.None));
                }

                if (!waitRead.IsCompleted)
                {
                    Checkpoint(ref connection, ref insert, ref exists);
                    continue;
                }

                if (!waitRead.IsCompletedSuccessfully || !waitRead.Result)
                {
                    break;
                }

                waitRead = null;
                var taken = 0;
                while (batch.Count < MaxBatch && reader.TryRead(out var probe))
                {
                    taken++;
                    try
                    {
                        batch.Add(new StoredProbe(probe, probe.ToRecord()));
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref _failed);
                        Log.MappingFailed(logger, probe.ToString(), ex);
                    }
                }

                var written = Write(batch, ref connection, ref insert, ref exists);
                _handled += taken;
                foreach (var item in written)
                {
                    item.Probe.Id = item.Record.Id;
                    stored.Publish(item);
                }

                batch.Clear();
                Checkpoint(ref connection, ref insert, ref exists);
            }

            // Everything the engine flushed at shutdown is stored: the final checkpoint covers it.
            Checkpoint(ref connection, ref insert, ref exists);
        }
        finally
        {
            exists?.Dispose();
            insert?.Dispose();
            connection?.Dispose();
        }
    }

    /// <summary>One transaction; returns the probes stored (none when the database refused the batch).</summary>
    private List<StoredProbe> Write(List<StoredProbe> batch, ref SqliteConnection? connection, ref ProbeInserter? insert, ref SqliteCommand? exists)
    {
        var written = new List<StoredProbe>(batch.Count);
        try
        {
            if (connection is null || insert is null)
            {
                connection ??= store.Open();
                // WAL with synchronous NORMAL: a commit is on disk at the next checkpoint, not at
                // once; a power cut may lose the last moments of probes but never corrupts the file.
                ProbeStore.Execute(connection, "PRAGMA synchronous = NORMAL;");
                insert = ProbeStore.PrepareInsert(connection);
                exists = ProbeStore.PrepareExists(connection);
            }

            var replayedThrough = checkpoints.ReplayedThroughNs;
            var duplicates = 0;
            using var transaction = connection.BeginTransaction();
            exists!.Transaction = transaction;
            foreach (var item in batch)
            {
                if (item.Record.FirstTsNs <= replayedThrough && ProbeStore.Exists(exists, item.Record))
                {
                    duplicates++;
                    continue;
                }

                item.Record.Id = insert!.Insert(item.Record);
                written.Add(item);
            }

            transaction.Commit();
            Interlocked.Add(ref _stored, written.Count);
            Interlocked.Add(ref _duplicates, duplicates);
            return written;
        }
        catch (Exception ex)
        {
            Interlocked.Add(ref _failed, batch.Count);
            Log.WriteFailed(logger, batch.Count, ex);
            Reset(ref connection, ref insert, ref exists);
            return [];
        }
    }

    /// <summary>Persists the journal checkpoint the handled probes cover, then releases the journal before it.</summary>
    private void Checkpoint(ref SqliteConnection? connection, ref ProbeInserter? insert, ref SqliteCommand? exists)
    {
        if (checkpoints.Covered(_handled) is not { } checkpoint)
        {
            return;
        }

        try
        {
            connection ??= store.Open();
            ProbeStore.SaveJournalCheckpoint(connection, checkpoint);
            journal.Release(checkpoint.Index);
        }
        catch (Exception ex)
        {
            checkpoints.PersistFailed();
            Log.CheckpointFailed(logger, checkpoint.Index, ex);
            Reset(ref connection, ref insert, ref exists);
        }
    }

    private static void Reset(ref SqliteConnection? connection, ref ProbeInserter? insert, ref SqliteCommand? exists)
    {
        exists?.Dispose();
        exists = null;
        insert?.Dispose();
        insert = null;
        connection?.Dispose();
        connection = null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Storing {Count} probes failed; they are lost")]
        public static partial void WriteFailed(ILogger logger, int count, Exception exception);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
            Message = "Persisting journal checkpoint {Index} failed; the journal is kept from the previous one")]
        public static partial void CheckpointFailed(ILogger logger, ulong index, Exception exception);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Could not map finalised probe {Probe}; it is lost")]
        public static partial void MappingFailed(ILogger logger, string probe, Exception exception);
    }
}
