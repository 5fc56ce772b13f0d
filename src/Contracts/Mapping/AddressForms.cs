using System.Collections.Concurrent;
using Google.Protobuf;
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

    private static readonly ConcurrentDictionary<UInt128, (string Text, ByteString Bytes)> Cache = new();
    private static int _added;

    /// <summary>As <see cref="IpAddress128.Format"/> prints it (dotted quad for IPv4).</summary>
    public static string Text(UInt128 address) => Get(address).Text;

    /// <summary>4 bytes for IPv4, 16 for IPv6, as the contracts carry them.</summary>
    public static ByteString Bytes(UInt128 address) => Get(address).Bytes;

    private static (string Text, ByteString Bytes) Get(UInt128 address)
    {
        if (Cache.TryGetValue(address, out var forms))
        {
            return forms;
        }

        if (Interlocked.Increment(ref _added) > Capacity)
        {
            Cache.Clear();
            Interlocked.Exchange(ref _added, 1);
        }

        Span<byte> buffer = stackalloc byte[16];
        forms = (IpAddress128.Format(address), ByteString.CopyFrom(buffer[..IpAddress128.WriteBytes(address, buffer)]));
        Cache.TryAdd(address, forms);
        return forms;
    }
}
