using System.Collections.Concurrent;

namespace HopCapture.Analysis.Probes;

/// <summary>
/// A thread-safe memo for values that are costly to make and few in a cluster (an address's text
/// or wire bytes): past <c>capacity</c> distinct keys it starts over rather than grow.
/// </summary>
public sealed class BoundedCache<TKey, TValue>(int capacity, Func<TKey, TValue> make)
    where TKey : notnull
{
    private readonly ConcurrentDictionary<TKey, TValue> _values = new();
    private int _added;

    public TValue Get(TKey key)
    {
        if (_values.TryGetValue(key, out var value))
        {
            return value;
        }

        if (Interlocked.Increment(ref _added) > capacity)
        {
            _values.Clear();
            Interlocked.Exchange(ref _added, 1);
        }

        value = make(key);
        _values.TryAdd(key, value);
        return value;
    }
}
