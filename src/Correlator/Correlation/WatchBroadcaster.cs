using System.Collections.Concurrent;
using System.Threading.Channels;
using HopCapture.Protos;

namespace HopCapture.Correlator.Correlation;

/// <summary>
/// Fans stored probes out to Watch subscribers. Each subscriber has its own small bounded queue
/// that drops its oldest entry when the client reads too slowly, so one slow terminal never
/// holds back storage or the other watchers.
/// </summary>
public sealed class WatchBroadcaster
{
    public const int SubscriberCapacity = 1024;

    private readonly ConcurrentDictionary<long, WatchSubscription> _subscribers = new();
    private long _nextId;
    private long _dropped;

    /// <summary>Records dropped across all subscribers (slow readers).</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public int Subscribers => _subscribers.Count;

    public WatchSubscription Subscribe(Func<ProbeRecord, bool> filter, int capacity = SubscriberCapacity)
    {
        ArgumentNullException.ThrowIfNull(filter);
        var id = Interlocked.Increment(ref _nextId);
        var subscription = new WatchSubscription(this, id, filter, capacity);
        _subscribers[id] = subscription;
        return subscription;
    }

    public void Publish(ProbeRecord record)
    {
        foreach (var subscription in _subscribers.Values)
        {
            subscription.Offer(record);
        }
    }

    internal void Remove(long id) => _subscribers.TryRemove(id, out _);

    internal void CountDrop() => Interlocked.Increment(ref _dropped);
}

/// <summary>One Watch call's queue; dispose to unsubscribe.</summary>
public sealed class WatchSubscription : IDisposable
{
    private readonly WatchBroadcaster _owner;
    private readonly long _id;
    private readonly Func<ProbeRecord, bool> _filter;
    private readonly Channel<ProbeRecord> _queue;
    private long _dropped;

    internal WatchSubscription(WatchBroadcaster owner, long id, Func<ProbeRecord, bool> filter, int capacity)
    {
        _owner = owner;
        _id = id;
        _filter = filter;
        _queue = Channel.CreateBounded<ProbeRecord>(
            new BoundedChannelOptions(capacity) { SingleReader = true, FullMode = BoundedChannelFullMode.DropOldest },
            _ =>
            {
                Interlocked.Increment(ref _dropped);
                _owner.CountDrop();
            });
    }

    public ChannelReader<ProbeRecord> Reader => _queue.Reader;

    public long Dropped => Interlocked.Read(ref _dropped);

    internal void Offer(ProbeRecord record)
    {
        if (_filter(record))
        {
            _queue.Writer.TryWrite(record);
        }
    }

    public void Dispose()
    {
        _owner.Remove(_id);
        _queue.Writer.TryComplete();
    }
}
