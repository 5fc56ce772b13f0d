using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Ingest;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// Writes finalised probes in transactions of up to <see cref="MaxBatch"/> with one prepared
/// insert, then publishes them (ids filled) to Watch subscribers. It reads until the engine host
/// completes the channel, so everything flushed at shutdown is stored.
/// </summary>
public sealed partial class StoreWriter(
    ProbeStore store,
    AgentRegistry registry,
    CorrelatorChannels channels,
    WatchBroadcaster watch,
    ILogger<StoreWriter> logger) : BackgroundService
{
    public const int MaxBatch = 1000;

    private long _stored;
    private long _failed;

    public long Stored => Interlocked.Read(ref _stored);

    /// <summary>Probes lost because the database refused the write.</summary>
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
        var batch = new List<ProbeRecord>(MaxBatch);
        SqliteConnection? connection = null;
        ProbeInserter? insert = null;
        try
        {
            // Deliberately not cancelled by stoppingToken: shutdown ends when the channel is complete.
            while (await reader.WaitToReadAsync(CancellationToken.None))
            {
                while (batch.Count < MaxBatch && reader.TryRead(out var record))
                {
                    batch.Add(record);
                }

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
                    foreach (var record in batch)
                    {
                        record.Id = insert!.Insert(record);
                    }

                    transaction.Commit();
                    Interlocked.Add(ref _stored, batch.Count);
                }
                catch (Exception ex)
                {
                    Interlocked.Add(ref _failed, batch.Count);
                    Log.WriteFailed(logger, batch.Count, ex);
                    foreach (var record in batch)
                    {
                        record.Id = 0;
                    }

                    insert?.Dispose();
                    insert = null;
                    connection?.Dispose();
                    connection = null;
                }

                foreach (var record in batch)
                {
                    watch.Publish(record);
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
    }
}
