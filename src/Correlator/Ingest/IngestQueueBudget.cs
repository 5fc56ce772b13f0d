using System.Runtime.CompilerServices;
using HopCapture.Correlator.Hosting;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Ingest;

/// <summary>
/// Bounds, in bytes, the accepted batches between the ingest streams and the engine (the
/// journal's queue and the engine's queue together; <see cref="CorrelatorOptions.IngestQueueBytes"/>).
/// A stream takes its batch's share before queueing it and waits while the budget is spent: its
/// acks stop, so the agent slows down and its spool holds the rest. The engine gives the share
/// back when it takes the batch. Counting batches instead let a burst of large batches hold
/// hundreds of megabytes.
/// </summary>
/// <remarks>
/// Waiting streams are let in most-behind first (<see cref="AcquireAsync(long, long, CancellationToken)"/>),
/// not first come first served. Under overload, turn-taking by batch let an agent with one capture
/// point run ahead of one with two (half the observations per probe, the same batch rate) until
/// their halves of the same probes reached the engine seconds apart and the probes were cut in two.
/// Equally behind streams keep their arrival order.
/// </remarks>
public sealed class IngestQueueBudget(IOptions<CorrelatorOptions> options)
{
    /// <summary>What one queued observation costs: its engine form plus its journal record.</summary>
    public static readonly int BytesPerObservation = Unsafe.SizeOf<Observation>() + 2 + ObservationLayout.BodyBytes;

    private readonly long _capacity = options.Value.IngestQueueBytes;
    private readonly Lock _gate = new();
    private readonly List<Waiter> _waiting = [];
    private long _used;
    private long _arrivals;

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

    /// <summary>Takes <paramref name="bytes"/> in arrival order; see <see cref="AcquireAsync(long, long, CancellationToken)"/>.</summary>
    public Task AcquireAsync(long bytes, CancellationToken cancellationToken) => AcquireAsync(bytes, 0, cancellationToken);

    /// <summary>
    /// Takes <paramref name="bytes"/>; waits while they do not fit (a batch larger than the whole
    /// budget goes alone, when nothing else is queued). Among waiting streams the one whose batch
    /// is furthest <paramref name="behindNs"/> real time goes first.
    /// </summary>
    public Task AcquireAsync(long bytes, long behindNs, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_waiting.Count == 0 && Fits(bytes))
            {
                _used += bytes;
                return Task.CompletedTask;
            }

            var waiter = new Waiter(bytes, behindNs, _arrivals++);
            _waiting.Add(waiter);
            if (cancellationToken.CanBeCanceled)
            {
                // A cancelled waiter stays listed until the next grant, where it is dropped.
                var registration = cancellationToken.Register(() => waiter.Granted.TrySetCanceled(cancellationToken));
                _ = waiter.Granted.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            Grant();
            return waiter.Granted.Task;
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
            Grant();
        }
    }

    /// <summary>Lets waiters in, most behind first, while the first of them fits (under the lock).</summary>
    private void Grant()
    {
        _waiting.RemoveAll(static w => w.Granted.Task.IsCompleted);
        while (_waiting.Count > 0)
        {
            var next = 0;
            for (var i = 1; i < _waiting.Count; i++)
            {
                if (_waiting[i].Before(_waiting[next]))
                {
                    next = i;
                }
            }

            var head = _waiting[next];
            if (!head.Granted.Task.IsCompleted && !Fits(head.Bytes))
            {
                return;
            }

            _waiting.RemoveAt(next);
            _used += head.Bytes;
            if (!head.Granted.TrySetResult())
            {
                // Cancelled between the check and the grant.
                _used -= head.Bytes;
            }
        }
    }

    private bool Fits(long bytes) => _used == 0 || _used + bytes <= _capacity;

    private sealed class Waiter(long bytes, long behindNs, long arrival)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public long BehindNs { get; } = behindNs;

        public long Arrival { get; } = arrival;

        public bool Before(Waiter other) => BehindNs != other.BehindNs ? BehindNs > other.BehindNs : Arrival < other.Arrival;
    }
}
