using HopCapture.Engine.Model;

namespace HopCapture.Packets.Decoding;

/// <summary>Outcome of decoding one captured frame.</summary>
public enum DecodeStatus : byte
{
    /// <summary>An ICMP or ICMPv6 echo request or reply was decoded.</summary>
    Ok = 0,

    /// <summary>A well-formed frame that is not an echo (other protocols, later fragments, ICMP errors).</summary>
    NotEcho = 1,

    /// <summary>The capture cut the frame before the echo header.</summary>
    Truncated = 2,

    /// <summary>Header fields contradict each other or the frame.</summary>
    Malformed = 3,

    /// <summary>The capture's link type is not one the decoder reads.</summary>
    UnsupportedLinkType = 4,
}

/// <summary>
/// The fields of one echo packet. For tunnelled traffic the addresses, id and seq are the
/// inner packet's; <see cref="WireLength"/> and <see cref="Vlan"/> describe the outer frame.
/// </summary>
public readonly record struct DecodedEcho(
    UInt128 Src,
    UInt128 Dst,
    EchoType Type,
    ushort Id,
    ushort Seq,
    uint PayloadHash,
    uint WireLength,
    ushort Vlan);
