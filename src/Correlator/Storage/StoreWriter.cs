using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Ingest;
using HopCapture.Correlator.Journal;
using HopCapture.Correlator.Hosting;
using System.Threading.Channels;
using HopCapture.Analysis.Probes;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// Writes finalised probes in transactions of up to <see cref="MaxBatch"/> with one prepared
/// insert, then publishes the ones it stored (ids set) on the <see cref="StoredProbeBus"/>. A
/// batch the database cannot write (disk full, read-only, I/O error) is retried until it can,
/// holding ingest back meanwhile (<see cref="StoreHealth"/>); one it refuses for anything else is
/// logged and counted, and reaches no alert, metric or Watch. It
/// reads until the engine host completes the channel, so everything flushed at shutdown is stored.
/// After each transaction (and each second when idle) it persists the journal checkpoint the
/// stored probes cover and lets the journal drop what is before it. A probe that may have been
/// stored before a crash (first seen no later than the newest replayed observation) is looked
/// up first and skipped if present: exactly once in the store. It is the store's only writer:
/// its session (<see cref="IStoreWriteSession"/>) also applies retention every
/// Retention:CheckEvery, between transactions.
/// </summary>
public sealed partial class StoreWriter(
    IResultsStore store,
    AgentRegistry registry,
    CorrelatorChannels channels,
    StoredProbeBus stored,
    JournalCheckpoints checkpoints,
    IngestJournal journal,
    StoreHealth health,
    IOptions<CorrelatorOptions> options,
    TimeProvider timeProvider,
    ILogger<StoreWriter> logger) : BackgroundService
{
    public const int MaxBatch = 5000;

    private static readonly TimeSpan CheckpointEvery = TimeSpan.FromSeconds(1);

    private long _stored;
    private long _failed;
    private long _duplicates;
    private long _handled;

    // The writer loop's session (only that loop touches it); null until first needed and after
    // a failure, so the next use opens it afresh.
    private IStoreWriteSession? _session;
    private long _droppedPartitions;
    private RetentionPass? _retention;
    private long _nextRetentionTicks;

    // The records a transaction's probes are mapped into, kept for the next one (the writer
    // loop's alone): a new record per probe was a third of what the correlator allocated at full
    // rate. Nothing keeps them past the transaction; the bus carries the probe alone.
    private readonly List<Protos.ProbeRecord> _records = [];

    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Probes lost because the database refused the write (or they could not be mapped).</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Probes re-formed from the journal after a crash that the store already had (skipped).</summary>
    public long ReplayedDuplicates => Interlocked.Read(ref _duplicates);

    /// <summary>Raw probe partitions dropped by retention since start.</summary>
    public long DroppedPartitions => Interlocked.Read(ref _droppedPartitions);

    /// <summary>The last retention pass: partitions kept and bytes the database uses (null before the first).</summary>
    public RetentionPass? Retention => Volatile.Read(ref _retention);

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
                    Checkpoint();
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
                        if (batch.Count == _records.Count)
                        {
                            _records.Add(new Protos.ProbeRecord());
                        }

                        var record = _records[batch.Count];
                        probe.FillRecord(record);
                        batch.Add(new StoredProbe(probe, record));
                    }
                    catch (Exception ex)
                    {
                        Interlocked.Increment(ref _failed);
                        Log.MappingFailed(logger, probe.ToString(), ex);
                    }
                }

                if (await WriteAsync(batch, stoppingToken) is not { } written)
                {
                    // Stopping while the database cannot write: these probes, and whatever the
                    // engine still flushes, stay in the journal past the checkpoint and are
                    // replayed at the next start.
                    batch.Clear();
                    await DiscardAsync(reader);
                    break;
                }

                _handled += taken;
                foreach (var item in written)
                {
                    item.Probe.Id = item.Record!.Id;
                    stored.Publish(new StoredProbe(item.Probe));
                }

                batch.Clear();
                Checkpoint();
            }

            // Everything the engine flushed at shutdown is stored: the final checkpoint covers it.
            Checkpoint();
        }
        finally
        {
            Reset();
        }
    }

    /// <summary>
    /// Stores a batch, retrying while the database cannot write (disk full, read-only, I/O error:
    /// <see cref="StoreHealth"/> holds ingest back meanwhile); returns null when the host stops
    /// first. A batch refused for anything else is logged and lost, as before.
    /// </summary>
    private async Task<List<StoredProbe>?> WriteAsync(List<StoredProbe> batch, CancellationToken stoppingToken)
    {
        while (true)
        {
            try
            {
                var written = Write(batch);
                health.Wrote(StorePart.Store);
                return written;
            }
            catch (Exception ex) when (StoreHealth.IsUnwritable(ex))
            {
                Reset();
                health.Failed(StorePart.Store, options.Value.Database, ex);
                try
                {
                    await Task.Delay(StoreHealth.RetryEvery, timeProvider, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
            }
            catch (Exception ex)
            {
                Interlocked.Add(ref _failed, batch.Count);
                Log.WriteFailed(logger, batch.Count, ex);
                Reset();
                return [];
            }
        }
    }

    /// <summary>Reads the channel to its end without storing, so the engine's shutdown flush is not blocked.</summary>
    private static async Task DiscardAsync(ChannelReader<Probe> reader)
    {
        await foreach (var _ in reader.ReadAllAsync(CancellationToken.None))
        {
        }
    }

    /// <summary>One transaction; returns the probes stored.</summary>
    private List<StoredProbe> Write(List<StoredProbe> batch)
    {
        foreach (var item in batch)
        {
            // A failed attempt may have numbered some: only this attempt's ids count.
            item.Record!.Id = 0;
        }

        var duplicates = Session().Write(batch.ConvertAll(static b => b.Record!), checkpoints.ReplayedThroughNs);
        var written = batch.FindAll(static b => b.Record!.Id != 0);
        Interlocked.Add(ref _stored, written.Count);
        Interlocked.Add(ref _duplicates, duplicates);
        return written;
    }

    private IStoreWriteSession Session() => _session ??= store.OpenWriter();

    /// <summary>A retention pass when one is due (and at the first chance after start).</summary>
    private void Retain()
    {
        var now = timeProvider.GetUtcNow();
        if (now.UtcTicks < _nextRetentionTicks)
        {
            return;
        }

        _nextRetentionTicks = now.UtcTicks + options.Value.Retention.CheckEvery.Ticks;
        try
        {
            var pass = Session().ApplyRetention(timeProvider.NowNs());
            Volatile.Write(ref _retention, pass);
            Interlocked.Add(ref _droppedPartitions, pass.DroppedByAge + pass.DroppedBySize);
        }
        catch (Exception ex)
        {
            Log.RetentionFailed(logger, ex);
            Reset();
        }
    }

    /// <summary>Persists the journal checkpoint the handled probes cover, then releases the journal before it.</summary>
    private void Checkpoint()
    {
        Retain();
        if (checkpoints.Covered(_handled) is not { } checkpoint)
        {
            return;
        }

        try
        {
            Session().SaveCheckpoint(checkpoint);
            journal.Release(checkpoint.Index);
        }
        catch (Exception ex)
        {
            checkpoints.PersistFailed();
            if (StoreHealth.IsUnwritable(ex))
            {
                Log.CheckpointDeferred(logger, checkpoint.Index, ex.Message);
            }
            else
            {
                Log.CheckpointFailed(logger, checkpoint.Index, ex);
            }

            Reset();
        }
    }

    private void Reset()
    {
        _session?.Dispose();
        _session = null;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Storing {Count} probes failed; they are lost")]
        public static partial void WriteFailed(ILogger logger, int count, Exception exception);

        [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
            Message = "Persisting journal checkpoint {Index} failed; the journal is kept from the previous one")]
        public static partial void CheckpointFailed(ILogger logger, ulong index, Exception exception);

        [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
            Message = "Cannot persist journal checkpoint {Index} yet ({Problem}); the journal is kept from the previous one")]
        public static partial void CheckpointDeferred(ILogger logger, ulong index, string problem);

        [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "Applying raw probe retention failed; retrying at the next check")]
        public static partial void RetentionFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Could not map finalised probe {Probe}; it is lost")]
        public static partial void MappingFailed(ILogger logger, string probe, Exception exception);
    }
}
