using System.Buffers.Binary;
using System.Net;

namespace HopCapture.Engine.Model;

/// <summary>IP addresses as <see cref="UInt128"/>: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d).</summary>
public static class IpAddress128
{
    private static readonly UInt128 V4Prefix = (UInt128)0xFFFF << 32;
    private static readonly UInt128 V4Mask = ~(UInt128)0xFFFF_FFFF;

    public static UInt128 FromIPv4(uint bigEndianValue) => V4Prefix | bigEndianValue;

    /// <summary>Reads 4 or 16 network-order bytes.</summary>
    public static UInt128 FromBytes(ReadOnlySpan<byte> bytes) => bytes.Length switch
    {
        4 => FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(bytes)),
        16 => BinaryPrimitives.ReadUInt128BigEndian(bytes),
        _ => throw new ArgumentException($"an IP address is 4 or 16 bytes, got {bytes.Length}", nameof(bytes)),
    };

    public static bool IsIPv4(UInt128 value) => (value & V4Mask) == V4Prefix;

    /// <summary>Writes 4 bytes for IPv4, 16 otherwise; returns the count written.</summary>
    public static int WriteBytes(UInt128 value, Span<byte> destination)
    {
        if (IsIPv4(value))
        {
            BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)value);
            return 4;
        }

        BinaryPrimitives.WriteUInt128BigEndian(destination, value);
        return 16;
    }

    public static byte[] ToBytes(UInt128 value)
    {
        Span<byte> buffer = stackalloc byte[16];
        return buffer[..WriteBytes(value, buffer)].ToArray();
    }

    public static UInt128 FromIPAddress(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        return FromBytes(address.GetAddressBytes());
    }

    public static IPAddress ToIPAddress(UInt128 value) => new(ToBytes(value));

    public static string Format(UInt128 value) => ToIPAddress(value).ToString();

    public static bool TryParse(string? text, out UInt128 value)
    {
        if (IPAddress.TryParse(text, out var address))
        {
            value = FromIPAddress(address);
            return true;
        }

        value = default;
        return false;
    }
}
