using System.Threading.Channels;
using Grpc.Core;
using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Ingest;
using HopCapture.Correlator.Storage;
using HopCapture.Durability;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Journal;

/// <summary>
/// The write-ahead journal between ingest and the engine: an agent's batch is acked only once
/// it is in the journal (on disk with <see cref="JournalOptions.Sync"/> "disk", in the kernel with
/// "kernel"), and reaches the engine in journal order. One writer thread appends what the ingest
/// streams hand it, a group at a time with one flush, then queues each batch for the engine.
/// At start, every record after the store's checkpoint is replayed into the engine before the
/// port opens: probes still in flight at a crash are recovered, not lost, and batch seqs
/// journalled after the checkpoint are known again, so a re-sent batch is dropped. The journal
/// is deleted up to the checkpoint as the store catches up (<see cref="Release"/>).
/// </summary>
public sealed partial class IngestJournal : BackgroundService
{
    private const int GroupMax = 256;

    /// <summary>File in the journal directory naming the database it belongs to.</summary>
    private const string DatabaseIdFile = "database-id";

    private readonly CorrelatorOptions _options;
    private readonly InterfaceCatalog _catalog;
    private readonly CorrelatorChannels _channels;
    private readonly AgentRegistry _registry;
    private readonly JournalCheckpoints _checkpoints;
    private readonly IResultsStore _store;
    private readonly StoreHealth _health;
    private readonly IngestQueueBudget _budget;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<IngestJournal> _logger;
    private readonly Channel<Pending> _pending = Channel.CreateBounded<Pending>(
        new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private RecordLog? _log;
    private long _replayedBatches;
    private long _journalled;
    private long _failedWrites;

    public IngestJournal(
        IOptions<CorrelatorOptions> options,
        InterfaceCatalog catalog,
        CorrelatorChannels channels,
        AgentRegistry registry,
        JournalCheckpoints checkpoints,
        IResultsStore store,
        StoreHealth health,
        IngestQueueBudget budget,
        TimeProvider timeProvider,
        ILogger<IngestJournal> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        Directory = _options.Journal.DirectoryFor(_options.Database);
        _catalog = catalog;
        _channels = channels;
        _registry = registry;
        _checkpoints = checkpoints;
        _store = store;
        _health = health;
        _budget = budget;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    /// <summary>The journal's directory.</summary>
    public string Directory { get; }

    /// <summary>What opening the journal found (null before start).</summary>
    public RecordLogRecovery? Recovery => _log?.Recovery;

    /// <summary>Batches replayed into the engine at start.</summary>
    public long ReplayedBatches => Interlocked.Read(ref _replayedBatches);

    /// <summary>Batches journalled since start.</summary>
    public long Journalled => Interlocked.Read(ref _journalled);

    /// <summary>Batches whose write failed (retried until written, or refused when the correlator stops first).</summary>
    public long FailedWrites => Interlocked.Read(ref _failedWrites);

    /// <summary>Bytes the journal holds on disk.</summary>
    public long Bytes => _log?.Bytes ?? 0;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        const string key = JournalOptions.SectionName + ":Directory";
        var checkpoint = _store.LoadJournalCheckpoint();
        try
        {
            SetAsideIfForeign(checkpoint.DatabaseId);
            _log = RecordLog.Open(Directory, new RecordLogOptions { SegmentBytes = _options.Journal.SegmentBytes });
            File.WriteAllText(Path.Combine(Directory, DatabaseIdFile), checkpoint.DatabaseId);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CorrelatorStartupException(key, $"cannot open the ingest journal '{Directory}': {ex.Message}", ex);
        }

        // A cut tail (the correlator died mid-write) is expected after a crash: said, not an error.
        var recovery = _log.Recovery.Describe();
        Log.Opened(_logger, Directory, recovery);
        await ReplayAsync(checkpoint, cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        // The server has stopped: no stream hands in more; the writer drains what is queued.
        _pending.Writer.TryComplete();
        await base.StopAsync(cancellationToken);
    }

    /// <summary>
    /// Hands an agent's batch to the journal writer, in order; returns once it is queued (waiting
    /// while the writer's queue is full). The returned task completes when the batch is journalled
    /// and queued for the engine — when it may be acked — and always completes: with an
    /// <see cref="RpcException"/> (Unavailable) when the journal could not be written.
    /// <paramref name="observations"/> are the batch's valid ones; <paramref name="bytes"/> what it
    /// holds of the <see cref="IngestQueueBudget"/>, given back when the engine takes it or when
    /// it is refused.
    /// </summary>
    /// <exception cref="RpcException">Unavailable: the correlator is stopping.</exception>
    public async Task<Task> EnqueueAsync(AgentState agent, ulong seq, bool imported, ArraySegment<Observation> observations, long bytes, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(agent);
        var payload = JournalCodec.EncodeRented(agent.Node, agent.InstanceId, seq, imported, observations, _catalog, out var length);
        var pending = new Pending(agent, seq, payload, length, observations, bytes);
        try
        {
            await _pending.Writer.WriteAsync(pending, cancellationToken);
        }
        catch (Exception ex) when (ex is ChannelClosedException or OperationCanceledException)
        {
            _budget.Release(bytes);
            if (ex is OperationCanceledException)
            {
                throw;
            }

            throw new RpcException(new Status(StatusCode.Unavailable, "the correlator is shutting down; reconnect and re-send un-acked batches"));
        }

        return pending.Done.Task;
    }

    /// <summary>The store holds everything up to <paramref name="checkpoint"/>: the journal before it may go.</summary>
    public void Release(ulong checkpoint) => _log?.DeleteThrough(checkpoint);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var reader = _pending.Reader;
        var group = new List<Pending>(GroupMax);
        try
        {
            // Not cancelled by stoppingToken: it ends when StopAsync completes the channel and it is drained.
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (group.Count < GroupMax && reader.TryRead(out var next))
                {
                    group.Add(next);
                }

                var written = await WriteAsync(group, stoppingToken);
                foreach (var pending in group)
                {
                    pending.ReturnPayload();
                }

                if (written)
                {
                    foreach (var pending in group)
                    {
                        _checkpoints.Journalled(pending.Index, pending.Agent.Node, pending.Agent.InstanceId, pending.Seq);
                        _registry.Accept(pending.Agent, pending.Seq);
                        // Waits while the engine is behind: the missing acks slow the agents down.
                        await _channels.Inbox.PostAsync(new IngestBatch(pending.Observations, pending.Index, pending.Bytes, pending.Agent, _timeProvider.NowNs()) { Pooled = true }, CancellationToken.None);
                        pending.Done.TrySetResult();
                    }
                }

                group.Clear();
            }
        }
        finally
        {
            _log?.Dispose();
        }
    }

    /// <summary>
    /// Appends a group with one flush. Nothing is journalled while the results store cannot write,
    /// and a failed write (disk full…) is taken back by the log and retried: the group's batches
    /// stay un-acked meanwhile, the queue before the writer fills, and the streams stop being read
    /// (the agents' spools hold what follows). Only when the correlator stops first are they
    /// refused (Unavailable; the agents re-send them to the next run).
    /// </summary>
    private async Task<bool> WriteAsync(List<Pending> group, CancellationToken stoppingToken)
    {
        try
        {
            while (true)
            {
                await _health.WritableAsync(StorePart.Store, stoppingToken);
                if (TryWrite(group, out var failure))
                {
                    _health.Wrote(StorePart.Journal);
                    return true;
                }

                _health.Failed(StorePart.Journal, Directory, failure);
                await Task.Delay(StoreHealth.RetryEvery, stoppingToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping: one last try, so a healthy shutdown still journals what the streams queued.
            if (!_health.Faulted(StorePart.Store) && TryWrite(group, out _))
            {
                return true;
            }

            var refusal = new RpcException(new Status(StatusCode.Unavailable, "the correlator stopped before it could journal the batch; it is not acked"));
            foreach (var pending in group)
            {
                _budget.Release(pending.Bytes);
                pending.Done.TrySetException(refusal);
            }

            return false;
        }
    }

    private bool TryWrite(List<Pending> group, out Exception failure)
    {
        try
        {
            foreach (var pending in group)
            {
                pending.Index = _log!.Append(pending.Payload);
            }

            _log!.Flush(_options.Journal.SyncToDisk);
            Interlocked.Add(ref _journalled, group.Count);
            failure = null!;
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
            Interlocked.Add(ref _failedWrites, group.Count);
            failure = ex;
            return false;
        }
    }

    /// <summary>Feeds every record after the store's checkpoint to the engine, in order.</summary>
    private async Task ReplayAsync(JournalCheckpoint checkpoint, CancellationToken cancellationToken)
    {
        _checkpoints.Restore(checkpoint);
        foreach (var ((node, instance), seq) in checkpoint.Seqs)
        {
            _registry.RestoreAccepted(node, instance, seq);
        }

        long observations = 0, corrupt = 0;
        using var reader = _log!.OpenReader();
        foreach (var (index, payload) in reader.ReadFrom(checkpoint.Index + 1))
        {
            JournalBatch batch;
            try
            {
                batch = JournalCodec.Decode(payload, _catalog);
            }
            catch (FormatException ex)
            {
                // Checksummed, so only a record of another version gets here: skipped, counted.
                corrupt++;
                Log.UnreadableRecord(_logger, index, ex.Message);
                continue;
            }

            _registry.RestoreAccepted(batch.Node, batch.Instance, batch.Seq);
            _checkpoints.Journalled(index, batch.Node, batch.Instance, batch.Seq);
            _checkpoints.ReplayedThrough(batch.Observations);
            await _channels.Inbox.PostAsync(new IngestBatch(batch.Observations, index, 0, IngestBatch.Replay, _timeProvider.NowNs()), cancellationToken);
            _replayedBatches++;
            observations += batch.Observations.Length;
        }

        if (_replayedBatches > 0 || corrupt > 0)
        {
            Log.Replayed(_logger, _replayedBatches, observations, checkpoint.Index, corrupt);
        }
    }

    /// <summary>
    /// A journal written for another database (this one was deleted and created anew, or the
    /// journal directory points elsewhere) is moved aside, not replayed into this one.
    /// </summary>
    private void SetAsideIfForeign(string databaseId)
    {
        var marker = Path.Combine(Directory, DatabaseIdFile);
        if (!File.Exists(marker) || File.ReadAllText(marker).Trim() == databaseId)
        {
            return;
        }

        var aside = $"{Directory}.foreign-{DateTime.UtcNow:yyyyMMddTHHmmss}";
        System.IO.Directory.Move(Directory, aside);
        Log.ForeignJournal(_logger, Directory, _options.Database, aside);
    }

    private sealed class Pending(AgentState agent, ulong seq, byte[] payload, int length, ArraySegment<Observation> observations, long bytes)
    {
        private byte[]? _payload = payload;

        public long Bytes { get; } = bytes;

        public AgentState Agent { get; } = agent;

        public ulong Seq { get; } = seq;

        /// <summary>The encoded record (in a pooled array until it is written or refused).</summary>
        public ReadOnlySpan<byte> Payload => _payload.AsSpan(0, length);

        public void ReturnPayload()
        {
            if (_payload is { } payload)
            {
                _payload = null;
                System.Buffers.ArrayPool<byte>.Shared.Return(payload);
            }
        }

        public ArraySegment<Observation> Observations { get; } = observations;

        public ulong Index { get; set; }

        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Ingest journal {Directory}: {Recovery}")]
        public static partial void Opened(ILogger logger, string directory, string recovery);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Information,
            Message = "Replayed {Batches} journalled batches ({Observations} observations) after checkpoint {Checkpoint} into the engine; {Unreadable} unreadable records skipped")]
        public static partial void Replayed(ILogger logger, long batches, long observations, ulong checkpoint, long unreadable);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Journal record {Index} is unreadable and skipped: {Reason}")]
        public static partial void UnreadableRecord(ILogger logger, ulong index, string reason);

        [LoggerMessage(EventId = 6005, Level = LogLevel.Warning,
            Message = "The ingest journal {Directory} belongs to another database than {Database}; moved aside to {Aside}, not replayed")]
        public static partial void ForeignJournal(ILogger logger, string directory, string database, string aside);
    }
}
