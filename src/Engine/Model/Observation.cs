namespace HopCapture.Engine.Model;

/// <summary>
/// One ICMP echo request or reply seen on one interface. Addresses are the packet's own
/// IP header source and destination (IPv4 stored as IPv4-mapped IPv6), so a reply has them
/// swapped relative to its request; the engine normalises that.
/// </summary>
/// <param name="Iface">Id from <see cref="InterfaceCatalog"/>.</param>
/// <param name="Imported">From an imported capture (<c>capture analyze --load</c>), not a live agent.</param>
public readonly record struct Observation(
    int Iface,
    long TimestampNs,
    UInt128 Src,
    UInt128 Dst,
    ushort IcmpId,
    ushort IcmpSeq,
    uint PayloadHash,
    EchoType Type,
    PacketDirection Direction,
    bool Imported = false);
