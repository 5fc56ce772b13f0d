namespace HopCapture.Correlator.Correlation;

/// <summary>
/// Journalled batches waiting for the engine, queued per agent stream and taken in the order
/// they were posted, except that the engine may pass over a stream's next batch it has no room
/// for (<see cref="TryTake"/>). One queue for all streams left a stream that had fallen behind at
/// the back: with the engine full of probes waiting for that stream's halves, the halves waited
/// behind other streams' batches the engine could not take, and the probes timed out cut in two.
/// Each stream's batches stay in their order.
/// </summary>
public sealed class EngineInbox(int capacity) : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<object, Queue<IngestBatch>> _streams = new(ReferenceEqualityComparer.Instance);
    private readonly List<Queue<IngestBatch>> _heads = [];
    private readonly SemaphoreSlim _room = new(capacity, capacity);
    private TaskCompletionSource<bool>? _readable;
    private int _count;

    /// <summary>Batches waiting.</summary>
    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _count;
            }
        }
    }

    /// <summary>When the longest-waiting batch was posted (<see cref="long.MaxValue"/> when none waits).</summary>
    public long OldestPostedNs
    {
        get
        {
            lock (_gate)
            {
                var oldest = long.MaxValue;
                foreach (var queue in _streams.Values)
                {
                    // A stream's batches are posted in its order: its first waited longest.
                    oldest = Math.Min(oldest, queue.Peek().PostedNs);
                }

                return oldest;
            }
        }
    }

    /// <summary>Queues <paramref name="batch"/> behind its stream's earlier ones; waits while <c>capacity</c> batches wait.</summary>
    public async Task PostAsync(IngestBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        await _room.WaitAsync(cancellationToken);
        TaskCompletionSource<bool>? readable;
        lock (_gate)
        {
            if (!_streams.TryGetValue(batch.Stream, out var queue))
            {
                queue = new Queue<IngestBatch>();
                _streams.Add(batch.Stream, queue);
            }

            queue.Enqueue(batch);
            _count++;
            readable = _readable;
            _readable = null;
        }

        readable?.TrySetResult(true);
    }

    /// <summary>
    /// Takes the longest-waiting batch that <paramref name="fits"/> (streams' first batches only,
    /// longest-waiting first); false when none waits or none fits.
    /// </summary>
    public bool TryTake(Func<IngestBatch, bool> fits, out IngestBatch batch)
    {
        ArgumentNullException.ThrowIfNull(fits);
        lock (_gate)
        {
            _heads.Clear();
            foreach (var (stream, queue) in _streams)
            {
                if (queue.Count > 0)
                {
                    _heads.Add(queue);
                }
            }

            _heads.Sort(static (a, b) => a.Peek().PostedNs.CompareTo(b.Peek().PostedNs));
            foreach (var queue in _heads)
            {
                if (fits(queue.Peek()))
                {
                    batch = queue.Dequeue();
                    _count--;
                    if (queue.Count == 0)
                    {
                        _streams.Remove(batch.Stream);
                    }

                    _room.Release();
                    return true;
                }
            }
        }

        batch = null!;
        return false;
    }

    /// <summary>
    /// Calls <paramref name="visit"/> on every waiting batch, each stream's in order, while no
    /// batch is posted or taken (the engine thread takes joining halves out of them this way).
    /// </summary>
    public void ForEachWaiting(Action<IngestBatch> visit)
    {
        ArgumentNullException.ThrowIfNull(visit);
        lock (_gate)
        {
            foreach (var queue in _streams.Values)
            {
                foreach (var batch in queue)
                {
                    visit(batch);
                }
            }
        }
    }

    public void Dispose() => _room.Dispose();

    /// <summary>Completes when a batch waits (true at once if one does).</summary>
    public Task<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_count > 0)
            {
                return Task.FromResult(true);
            }

            _readable ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _readable.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>Completes at the next <see cref="PostAsync"/>, whether or not batches already wait.</summary>
    public Task<bool> WaitForPostAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            _readable ??= new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            return _readable.Task.WaitAsync(cancellationToken);
        }
    }
}
