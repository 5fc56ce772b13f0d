using System.Collections.Concurrent;
using HopCapture.Engine.Model;

namespace HopCapture.Analysis.Probes;

/// <summary>
/// The printable form of addresses, kept once per address: a cluster has few addresses, and
/// formatting one costs more than correlating the probe that carries it.
/// </summary>
public static class AddressText
{
    // Bounded: past this many distinct addresses the cache starts over rather than grow.
    private const int Capacity = 65_536;

    private static readonly ConcurrentDictionary<UInt128, string> Cache = new();
    private static int _added;

    /// <summary>As <see cref="IpAddress128.Format"/> prints it (dotted quad for IPv4).</summary>
    public static string Of(UInt128 address)
    {
        if (Cache.TryGetValue(address, out var text))
        {
            return text;
        }

        if (Interlocked.Increment(ref _added) > Capacity)
        {
            Cache.Clear();
            Interlocked.Exchange(ref _added, 1);
        }

        text = IpAddress128.Format(address);
        Cache.TryAdd(address, text);
        return text;
    }
}
