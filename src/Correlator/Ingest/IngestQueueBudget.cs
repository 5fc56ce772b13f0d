using System.Runtime.CompilerServices;
using HopCapture.Correlator.Hosting;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Ingest;

/// <summary>
/// Bounds, in bytes, the accepted batches between the ingest streams and the engine (the
/// journal's queue and the engine's queue together; <see cref="CorrelatorOptions.IngestQueueBytes"/>).
/// A stream takes its batch's share before queueing it and waits, first come first served, while
/// the budget is spent: its acks stop, so the agent slows down and its spool holds the rest. The
/// engine gives the share back when it takes the batch. Counting batches instead let a burst of
/// large batches hold hundreds of megabytes.
/// </summary>
public sealed class IngestQueueBudget(IOptions<CorrelatorOptions> options)
{
    /// <summary>What one queued observation costs: its engine form plus its journal record.</summary>
    public static readonly int BytesPerObservation = Unsafe.SizeOf<Observation>() + 2 + ObservationLayout.BodyBytes;

    private readonly long _capacity = options.Value.IngestQueueBytes;
    private readonly Lock _gate = new();
    private readonly Queue<(long Bytes, TaskCompletionSource Granted)> _waiting = new();
    private long _used;

    public long Capacity => _capacity;

    /// <summary>Bytes held by queued batches now.</summary>
    public long Used
    {
        get
        {
            lock (_gate)
            {
                return _used;
            }
        }
    }

    public static long Cost(int observations) => (long)observations * BytesPerObservation;

    /// <summary>
    /// Takes <paramref name="bytes"/>; waits while they do not fit (a batch larger than the whole
    /// budget goes alone, when nothing else is queued).
    /// </summary>
    public Task AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_waiting.Count == 0 && Fits(bytes))
            {
                _used += bytes;
                return Task.CompletedTask;
            }

            var granted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting.Enqueue((bytes, granted));
            if (cancellationToken.CanBeCanceled)
            {
                // A cancelled waiter stays queued until it reaches the head, where it is skipped.
                var registration = cancellationToken.Register(() => granted.TrySetCanceled(cancellationToken));
                _ = granted.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            return granted.Task;
        }
    }

    /// <summary>Gives back what a batch took, and lets waiting streams in that now fit.</summary>
    public void Release(long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        lock (_gate)
        {
            _used -= bytes;
            while (_waiting.TryPeek(out var head) && (head.Granted.Task.IsCompleted || Fits(head.Bytes)))
            {
                _waiting.Dequeue();
                if (head.Granted.Task.IsCompleted)
                {
                    continue;
                }

                _used += head.Bytes;
                if (!head.Granted.TrySetResult())
                {
                    // Cancelled between the check and the grant.
                    _used -= head.Bytes;
                }
            }
        }
    }

    private bool Fits(long bytes) => _used == 0 || _used + bytes <= _capacity;
}
