using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Ingest;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// Writes finalised probes in transactions of up to <see cref="MaxBatch"/> with one prepared
/// insert, then publishes the ones it stored (ids set) on the <see cref="StoredProbeBus"/>: a
/// batch the database refused is logged and counted, and reaches no alert, metric or Watch. It
/// reads until the engine host completes the channel, so everything flushed at shutdown is stored.
/// </summary>
public sealed partial class StoreWriter(
    ProbeStore store,
    AgentRegistry registry,
    CorrelatorChannels channels,
    StoredProbeBus stored,
    ILogger<StoreWriter> logger) : BackgroundService
{
    public const int MaxBatch = 1000;

    private long _stored;
    private long _failed;

    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Probes lost because the database refused the write (or they could not be mapped).</summary>
    public long Failed => Interlocked.Read(ref _failed);

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
        try
        {
            // Deliberately not cancelled by stoppingToken: shutdown ends when the channel is complete.
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (batch.Count < MaxBatch && reader.TryRead(out var probe))
                {
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

                var written = false;
                try
                {
                    if (connection is null)
                    {
                        connection = store.Open();
                        // WAL with synchronous NORMAL: a commit is on disk at the next checkpoint, not at
                        // once; a power cut may lose the last moments of probes but never corrupts the file.
                        ProbeStore.Execute(connection, "PRAGMA synchronous = NORMAL;");
                        insert = ProbeStore.PrepareInsert(connection);
                    }

                    using var transaction = connection.BeginTransaction();
                    foreach (var item in batch)
                    {
                        item.Record.Id = insert!.Insert(item.Record);
                    }

                    transaction.Commit();
                    written = true;
                    Interlocked.Add(ref _stored, batch.Count);
                }
                catch (Exception ex)
                {
                    Interlocked.Add(ref _failed, batch.Count);
                    Log.WriteFailed(logger, batch.Count, ex);
                    insert?.Dispose();
                    insert = null;
                    connection?.Dispose();
                    connection = null;
                }

                if (written)
                {
                    foreach (var item in batch)
                    {
                        item.Probe.Id = item.Record.Id;
                        stored.Publish(item);
                    }
                }

                batch.Clear();
            }
        }
        finally
        {
            insert?.Dispose();
            connection?.Dispose();
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Error, Message = "Storing {Count} probes failed; they are lost")]
        public static partial void WriteFailed(ILogger logger, int count, Exception exception);

        [LoggerMessage(EventId = 3002, Level = LogLevel.Error, Message = "Could not map finalised probe {Probe}; it is lost")]
        public static partial void MappingFailed(ILogger logger, string probe, Exception exception);
    }
}
