namespace HopCapture.Engine.Correlation;

/// <summary>
/// Keys finalised recently, so a straggling observation of a finished probe is counted as late
/// instead of opening a new probe that would later read as a false loss. Bounded in count and age.
/// </summary>
/// <remarks>
/// Keys are kept as 64-bit fingerprints (a false "late" needs two of the few hundred thousand
/// probes held to collide in 64 bits), a third of the full key's memory, so the count can stay
/// well above the engine's in-flight limit: it is what bounds how long a finished probe is
/// remembered at a high probe rate (at 91,000 probes a second, 64,000 keys were 0.7 s, and halves
/// of probes arriving later than that opened new probes).
/// </remarks>
internal sealed class RecentKeys(int capacity, long maxAgeNs)
{
    private readonly HashSet<ulong> _keys = [];
    private readonly Queue<(ulong Key, long FinalizedNs)> _order = new();

    public bool Contains(ProbeKey key) => _keys.Contains(Fingerprint(key));

    public void Add(ProbeKey key, long nowNs)
    {
        var fingerprint = Fingerprint(key);
        if (!_keys.Add(fingerprint))
        {
            return;
        }

        _order.Enqueue((fingerprint, nowNs));
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

    internal static ulong Fingerprint(ProbeKey key)
    {
        var h = Mix(((ulong)key.IcmpId << 48) | ((ulong)key.IcmpSeq << 32) | key.PayloadHash);
        h = Mix(h ^ (ulong)key.Src);
        h = Mix(h ^ (ulong)(key.Src >> 64));
        h = Mix(h ^ (ulong)key.Dst);
        return Mix(h ^ (ulong)(key.Dst >> 64));
    }

    // The 64-bit finaliser of MurmurHash3: every input bit moves every output bit.
    private static ulong Mix(ulong x)
    {
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdUL;
        x ^= x >> 33;
        x *= 0xc4ceb9fe1a85ec53UL;
        return x ^ (x >> 33);
    }
}
