namespace HopCapture.Packets.Decoding;

/// <summary>The pcap link-layer header types (DLT values) the decoder reads.</summary>
public static class LinkType
{
    /// <summary>BSD loopback: a 4-byte address family in the writer's byte order (macOS lo0, utun).</summary>
    public const int Null = 0;

    public const int Ethernet = 1;
    public const int RawBsd = 12;
    public const int Raw = 101;

    /// <summary>OpenBSD loopback: the address family in network byte order.</summary>
    public const int Loop = 108;
    public const int LinuxSll = 113;
    public const int IPv4 = 228;
    public const int IPv6 = 229;
    public const int LinuxSll2 = 276;

    public static bool IsSupported(int linkType) => linkType is Null or Ethernet or RawBsd or Raw or Loop or LinuxSll or LinuxSll2 or IPv4 or IPv6;
}
