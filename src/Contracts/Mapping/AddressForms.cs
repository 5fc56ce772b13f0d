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
    private static readonly BoundedCache<UInt128, ByteString> Cache = new(65_536, static address =>
    {
        Span<byte> buffer = stackalloc byte[16];
        return ByteString.CopyFrom(buffer[..IpAddress128.WriteBytes(address, buffer)]);
    });

    /// <summary>As <see cref="IpAddress128.Format"/> prints it (dotted quad for IPv4); one cache with the domain's <see cref="AddressText"/>.</summary>
    public static string Text(UInt128 address) => AddressText.Of(address);

    /// <summary>4 bytes for IPv4, 16 for IPv6, as the contracts carry them.</summary>
    public static ByteString Bytes(UInt128 address) => Cache.Get(address);
}
