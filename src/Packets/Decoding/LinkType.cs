namespace HopCapture.Packets.Decoding;

/// <summary>The pcap link-layer header types (DLT values) the decoder reads.</summary>
public static class LinkType
{
    public const int Ethernet = 1;
    public const int RawBsd = 12;
    public const int Raw = 101;
    public const int LinuxSll = 113;
    public const int IPv4 = 228;
    public const int IPv6 = 229;
    public const int LinuxSll2 = 276;

    public static bool IsSupported(int linkType) => linkType is Ethernet or RawBsd or Raw or LinuxSll or LinuxSll2 or IPv4 or IPv6;
}
