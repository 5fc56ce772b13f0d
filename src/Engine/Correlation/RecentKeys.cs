namespace HopCapture.Engine.Correlation;

/// <summary>
/// Keys finalised recently, so a straggling observation of a finished probe is counted as late
/// instead of opening a new probe that would later read as a false loss. Bounded in count and age.
/// </summary>
internal sealed class RecentKeys(int capacity, long maxAgeNs)
{
    private readonly HashSet<ProbeKey> _keys = [];
    private readonly Queue<(ProbeKey Key, long FinalizedNs)> _order = new();

    public bool Contains(ProbeKey key) => _keys.Contains(key);

    public void Add(ProbeKey key, long nowNs)
    {
        if (!_keys.Add(key))
        {
            return;
        }

        _order.Enqueue((key, nowNs));
        while (_order.Count > capacity)
        {
            _keys.Remove(_order.Dequeue().Key);
        }
    }

    public void Expire(long nowNs)
    {
        while (_order.TryPeek(out var entry) && entry.FinalizedNs + maxAgeNs < nowNs)
        {
            _order.Dequeue();
            _keys.Remove(entry.Key);
        }
    }
}
