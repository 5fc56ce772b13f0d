using System.Collections.Concurrent;
using Google.Protobuf;
using HopCapture.Analysis.Probes;
using HopCapture.Engine.Model;

namespace HopCapture.Contracts.Mapping;

/// <summary>
/// The text and wire bytes of addresses, kept once per address: a cluster has few addresses, and
/// formatting one (an IPAddress and its string) costs more than correlating the probe that carries
/// it. Every stored probe and every uploaded observation asks for them.
/// </summary>
public static class AddressForms
{
    // Bounded: past this many distinct addresses the cache starts over rather than grow.
    private const int Capacity = 65_536;

    private static readonly ConcurrentDictionary<UInt128, ByteString> Cache = new();
    private static int _added;

    /// <summary>As <see cref="IpAddress128.Format"/> prints it (dotted quad for IPv4); one cache with the domain's <see cref="AddressText"/>.</summary>
    public static string Text(UInt128 address) => AddressText.Of(address);

    /// <summary>4 bytes for IPv4, 16 for IPv6, as the contracts carry them.</summary>
    public static ByteString Bytes(UInt128 address)
    {
        if (Cache.TryGetValue(address, out var bytes))
        {
            return bytes;
        }

        if (Interlocked.Increment(ref _added) > Capacity)
        {
            Cache.Clear();
            Interlocked.Exchange(ref _added, 1);
        }

        Span<byte> buffer = stackalloc byte[16];
        bytes = ByteString.CopyFrom(buffer[..IpAddress128.WriteBytes(address, buffer)]);
        Cache.TryAdd(address, bytes);
        return bytes;
    }
}
