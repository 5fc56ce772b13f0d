using System.Collections.Concurrent;
using System.Threading.Channels;
using HopCapture.Analysis.Probes;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// A probe the store has written: the domain probe (id set) and, while the store writer holds
/// it, the record it was stored as. The bus hands on the probe alone: at full rate the alert and
/// metrics queues hold tens of thousands of probes, and the record was two thirds of each.
/// </summary>
public sealed record StoredProbe(Probe Probe, ProbeRecord? Record = null)
{
    /// <summary>The stored record (id set): the one written, or the probe's own mapping of it (the same fields).</summary>
    public ProbeRecord ToRecord()
    {
        if (Record is { } record)
        {
            return record.Clone();
        }

        var mapped = Probe.ToRecord();
        mapped.Id = Probe.Id;
        return mapped;
    }
}

/// <summary>
/// What comes after storage: every probe the store wrote, and only those, fanned out to alerts,
/// metrics, traces and Watch streams. A probe whose write failed never reaches them, so nothing
/// downstream counts, pages on or shows a probe the store does not have. Each subscriber has its
/// own bounded queue that drops its oldest entry when it reads too slowly, so one slow terminal
/// never holds back storage or the other subscribers.
/// </summary>
public sealed class StoredProbeBus
{
    public const int SubscriberCapacity = 1024;

    private readonly ConcurrentDictionary<long, StoredProbeSubscription> _subscribers = new();
    // What Publish walks: a copy taken when a subscriber comes or goes (the dictionary's Values
    // allocated a collection per probe).
    private StoredProbeSubscription[] _snapshot = [];
    private readonly Lock _snapshotGate = new();
    private long _nextId;
    private long _dropped;

    /// <summary>Probes dropped across all subscribers (slow readers).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Subscribers => _subscribers.Count;

    public StoredProbeSubscription Subscribe(Func<Probe, bool> filter, int capacity = SubscriberCapacity)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var id = Interlocked.Increment(ref _nextId);
        var subscription = new StoredProbeSubscription(this, id, filter, capacity);
        _subscribers[id] = subscription;
        Resnap();
        return subscription;
    }

    /// <summary>Hands a stored probe to every subscriber; a probe without a store id is refused.</summary>
    public void Publish(StoredProbe stored)
    {
        ArgumentNullException.ThrowIfNull(stored);
        if (stored.Probe.Id <= 0)
        {
            throw new ArgumentException($"probe {stored.Probe} has no store id: only stored probes are published", nameof(stored));
        }

        foreach (var subscription in Volatile.Read(ref _snapshot))
        {
            subscription.Offer(stored);
        }
    }

    internal void Remove(long id)
    {
        if (_subscribers.TryRemove(id, out _))
        {
            Resnap();
        }
    }

    private void Resnap()
    {
        lock (_snapshotGate)
        {
            Volatile.Write(ref _snapshot, [.. _subscribers.Values]);
        }
    }

    internal void CountDrop() => Interlocked.Increment(ref _dropped);
}

/// <summary>One subscriber's queue; dispose to unsubscribe.</summary>
public sealed class StoredProbeSubscription : IDisposable
{
    private readonly StoredProbeBus _owner;
    private readonly long _id;
    private readonly Func<Probe, bool> _filter;
    private readonly Channel<StoredProbe> _queue;
    private long _dropped;

    internal StoredProbeSubscription(StoredProbeBus owner, long id, Func<Probe, bool> filter, int capacity)
    {
        _owner = owner;
        _id = id;
        _filter = filter;
        _queue = Channel.CreateBounded<StoredProbe>(
            new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest },
            _ =>
            {
                Interlocked.Increment(ref _dropped);
                _owner.CountDrop();
            });
    }

    public ChannelReader<StoredProbe> Reader => _queue.Reader;

    public long Dropped => Interlocked.Read(ref _dropped);

    internal void Offer(StoredProbe stored)
    {
        if (_filter(stored.Probe))
        {
            _queue.Writer.TryWrite(stored);
        }
    }

    public void Dispose()
    {
        _owner.Remove(_id);
        _queue.Writer.TryComplete();
    }
}
