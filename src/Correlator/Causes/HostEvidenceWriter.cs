using System.Threading.Channels;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Causes;

/// <summary>
/// Takes the host evidence of heartbeats off the ingest streams into a bounded queue and writes it
/// to the <see cref="HostEvidenceStore"/> in the background, so a slow disk never holds an agent's
/// stream; what does not fit is dropped and counted (the agent re-sends all it holds after a
/// reconnect). Prunes by age and count once a minute.
/// </summary>
public sealed partial class HostEvidenceWriter(HostEvidenceStore store, TimeProvider time, ILogger<HostEvidenceWriter> logger) : BackgroundService
{
    private static readonly TimeSpan PruneEvery = TimeSpan.FromMinutes(1);
    private readonly Channel<(string Node, HostEvidence[] Evidence)> _queue =
        Channel.CreateBounded<(string, HostEvidence[])>(new BoundedChannelOptions(1024) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private long _dropped;

    /// <summary>Queues one heartbeat's evidence; never blocks.</summary>
    public void Post(string node, IEnumerable<HostEvidence> evidence)
    {
        var items = evidence.ToArray();
        if (items.Length > 0 && !_queue.Writer.TryWrite((node, items)))
        {
            var dropped = Interlocked.Increment(ref _dropped);
            if (dropped == 1 || dropped % 100 == 0)
            {
                Log.Dropped(logger, dropped);
            }
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var nextPrune = time.GetUtcNow();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                while (_queue.Reader.TryRead(out var item))
                {
                    Write(() => store.Add(item.Node, item.Evidence));
                }

                var now = time.GetUtcNow();
                if (now >= nextPrune)
                {
                    Write(() => store.Prune(now.ToUnixTimeMilliseconds() * 1_000_000));
                    nextPrune = now + PruneEvery;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Write(Action write)
    {
        try
        {
            write();
        }
        catch (SqliteException ex)
        {
            Log.WriteFailed(logger, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4501, Level = LogLevel.Warning, Message = "Host evidence could not be stored; the next heartbeat's is tried")]
        public static partial void WriteFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4502, Level = LogLevel.Warning, Message = "Host evidence queue full: the evidence of {Dropped} heartbeats dropped so far (agents re-send theirs after a reconnect)")]
        public static partial void Dropped(ILogger logger, long dropped);
    }
}
