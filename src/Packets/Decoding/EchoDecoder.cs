using System.Buffers.Binary;
using HopCapture.Engine.Model;

namespace HopCapture.Packets.Decoding;

/// <summary>
/// Reads ICMP/ICMPv6 echo requests and replies out of captured frames by hand: no allocation,
/// no PacketDotNet. PacketDotNet costs ~1 KB per packet and misparses GRE with checksums and
/// does not decode Geneve or VXLAN on 8472 (see CAPTURE-NOTES.md), so the few fields we need are
/// read straight from the span.
/// </summary>
public static class EchoDecoder
{
    /// <summary>Bytes of echo payload that feed <see cref="DecodedEcho.PayloadHash"/>.</summary>
    public const int HashedPayloadBytes = 16;

    private const ushort EtherTypeIPv4 = 0x0800;
    private const ushort EtherTypeIPv6 = 0x86DD;
    private const ushort EtherTypeVlan = 0x8100;
    private const ushort EtherTypeQinQ = 0x88A8;
    private const ushort EtherTypeQinQOld = 0x9100;
    private const ushort EtherTypeTransparentBridging = 0x6558;
    private const ushort EtherTypeMpls = 0x8847;
    private const ushort EtherTypeMplsMulticast = 0x8848;
    private const ushort EtherTypeMacsec = 0x88E5;
    private const ushort EtherTypeErspan = 0x88BE;   // ERSPAN type I (no GRE sequence) and II
    private const ushort EtherTypeErspan3 = 0x22EB;  // ERSPAN type III
    private const int MaxMplsLabels = 8;
    private const byte ProtoIcmp = 1;
    private const byte ProtoUdp = 17;
    private const byte ProtoGre = 47;
    private const byte ProtoIcmpV6 = 58;
    private const int MaxTunnelDepth = 4;
    private const int MaxVlanTags = 4;
    private const int MaxIPv6ExtensionHeaders = 8;

    /// <summary>
    /// Decodes <paramref name="frame"/> (the captured bytes) of a capture with link type
    /// <paramref name="linkType"/> (a DLT value, see <see cref="LinkType"/>).
    /// </summary>
    /// <param name="wireLength">The frame's length on the wire (pcap "len"); reported as is.</param>
    public static DecodeStatus Decode(ReadOnlySpan<byte> frame, int linkType, uint wireLength, out DecodedEcho echo)
    {
        echo = default;
        var state = new State { WireLength = wireLength };
        DecodeStatus status;
        switch (linkType)
        {
            case LinkType.Ethernet:
                status = Ethernet(frame, ref state, 0);
                break;
            case LinkType.LinuxSll:
                // 16-byte cooked header; protocol in the last two bytes.
                status = frame.Length < 16
                    ? DecodeStatus.Truncated
                    : EtherTyped(BinaryPrimitives.ReadUInt16BigEndian(frame[14..]), frame[16..], ref state, 0);
                break;
            case LinkType.LinuxSll2:
                // 20-byte cooked header v2; protocol first.
                status = frame.Length < 20
                    ? DecodeStatus.Truncated
                    : EtherTyped(BinaryPrimitives.ReadUInt16BigEndian(frame), frame[20..], ref state, 0);
                break;
            case LinkType.Raw or LinkType.RawBsd or LinkType.IPv4 or LinkType.IPv6:
                status = RawIp(frame, ref state, 0);
                break;
            case LinkType.Null or LinkType.Loop:
                // BSD loopback (macOS `tcpdump -i lo0`, utun): a 4-byte address family in the
                // writer's byte order (NULL) or network order (LOOP); the IP version nibble says
                // the rest, and the family values differ per BSD (AF_INET6 is 24, 28 or 30).
                status = frame.Length < 4 ? DecodeStatus.Truncated : RawIp(frame[4..], ref state, 0);
                break;
            default:
                return DecodeStatus.UnsupportedLinkType;
        }

        if (status == DecodeStatus.Ok)
        {
            echo = new DecodedEcho(state.Src, state.Dst, state.Type, state.Id, state.Seq, state.Hash, wireLength, state.Vlan);
        }

        return status;
    }

    /// <summary>
    /// FNV-1a 32 over the first min(16, declared) payload bytes; 0 when the capture cut them off,
    /// so captures with different snaplens agree whenever 16 payload bytes were kept.
    /// </summary>
    public static uint PayloadHash(ReadOnlySpan<byte> capturedPayload, int declaredPayloadLength)
    {
        var length = Math.Min(HashedPayloadBytes, Math.Max(0, declaredPayloadLength));
        if (capturedPayload.Length < length)
        {
            return 0;
        }

        var hash = 2166136261u;
        foreach (var b in capturedPayload[..length])
        {
            hash = (hash ^ b) * 16777619u;
        }

        // 0 means "unknown", so a real hash must never be 0.
        return hash == 0 ? 1 : hash;
    }

    private static DecodeStatus Ethernet(ReadOnlySpan<byte> frame, ref State state, int depth)
    {
        if (frame.Length < 14)
        {
            return DecodeStatus.Truncated;
        }

        return EtherTyped(BinaryPrimitives.ReadUInt16BigEndian(frame[12..]), frame[14..], ref state, depth);
    }

    private static DecodeStatus EtherTyped(ushort etherType, ReadOnlySpan<byte> payload, ref State state, int depth)
    {
        for (var tags = 0; etherType is EtherTypeVlan or EtherTypeQinQ or EtherTypeQinQOld; tags++)
        {
            if (tags == MaxVlanTags)
            {
                return DecodeStatus.Malformed;
            }

            if (payload.Length < 4)
            {
                return DecodeStatus.Truncated;
            }

            if (state.Vlan == 0)
            {
                // The outermost tag names the VLAN an operator knows the link by.
                state.Vlan = (ushort)(BinaryPrimitives.ReadUInt16BigEndian(payload) & 0x0FFF);
            }

            etherType = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
            payload = payload[4..];
        }

        return etherType switch
        {
            EtherTypeIPv4 => IPv4(payload, ref state, depth),
            EtherTypeIPv6 => IPv6(payload, ref state, depth),
            EtherTypeMpls or EtherTypeMplsMulticast => Mpls(payload, ref state, depth),
            EtherTypeMacsec => Macsec(payload, ref state, depth),
            _ => DecodeStatus.NotEcho,
        };
    }

    /// <summary>
    /// An MPLS label stack (RFC 3032) down to the bottom-of-stack label, then IPv4 or IPv6 by the
    /// version nibble; a pseudowire control word (first nibble 0, RFC 4385) carries Ethernet.
    /// </summary>
    private static DecodeStatus Mpls(ReadOnlySpan<byte> stack, ref State state, int depth)
    {
        for (var labels = 0; ; labels++)
        {
            if (labels == MaxMplsLabels)
            {
                return DecodeStatus.Malformed;
            }

            if (stack.Length < 4)
            {
                return DecodeStatus.Truncated;
            }

            var bottom = (stack[2] & 0x01) != 0;
            stack = stack[4..];
            if (bottom)
            {
                break;
            }
        }

        if (stack.IsEmpty)
        {
            return DecodeStatus.Truncated;
        }

        return (stack[0] >> 4) switch
        {
            4 => IPv4(stack, ref state, depth),
            6 => IPv6(stack, ref state, depth),
            0 when depth < MaxTunnelDepth => stack.Length < 4 ? DecodeStatus.Truncated : Ethernet(stack[4..], ref state, depth + 1),
            _ => DecodeStatus.NotEcho,
        };
    }

    /// <summary>
    /// MACsec (IEEE 802.1AE): the SecTAG (6 bytes, 14 with the SCI), then — when integrity-only
    /// (neither E nor C set) — the protected frame's EtherType and payload in clear; the 16-byte
    /// ICV at the end lies beyond the IP length. Encrypted frames cannot be read.
    /// </summary>
    private static DecodeStatus Macsec(ReadOnlySpan<byte> secTag, ref State state, int depth)
    {
        if (secTag.Length < 6)
        {
            return DecodeStatus.Truncated;
        }

        var tci = secTag[0];
        if ((tci & 0x0C) != 0)
        {
            return DecodeStatus.NotEcho; // encrypted (E) or modified (C): the payload is not in clear
        }

        var length = (tci & 0x20) != 0 ? 14 : 6;
        if (secTag.Length < length + 2)
        {
            return DecodeStatus.Truncated;
        }

        return EtherTyped(BinaryPrimitives.ReadUInt16BigEndian(secTag[length..]), secTag[(length + 2)..], ref state, depth);
    }

    private static DecodeStatus RawIp(ReadOnlySpan<byte> packet, ref State state, int depth)
    {
        if (packet.IsEmpty)
        {
            return DecodeStatus.Truncated;
        }

        return (packet[0] >> 4) switch
        {
            4 => IPv4(packet, ref state, depth),
            6 => IPv6(packet, ref state, depth),
            _ => DecodeStatus.Malformed,
        };
    }

    private static DecodeStatus IPv4(ReadOnlySpan<byte> packet, ref State state, int depth)
    {
        if (packet.Length < 20)
        {
            return DecodeStatus.Truncated;
        }

        var headerLength = (packet[0] & 0x0F) * 4;
        if (packet[0] >> 4 != 4 || headerLength < 20)
        {
            return DecodeStatus.Malformed;
        }

        if (packet.Length < headerLength)
        {
            return DecodeStatus.Truncated;
        }

        int totalLength = BinaryPrimitives.ReadUInt16BigEndian(packet[2..]);
        if (totalLength == 0)
        {
            // Segmentation offload hands outgoing packets to the capture with length 0.
            totalLength = packet.Length;
        }
        else if (totalLength < headerLength)
        {
            return DecodeStatus.Malformed;
        }

        if ((BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF) != 0)
        {
            // Only the first fragment carries the ICMP header.
            return DecodeStatus.NotEcho;
        }

        var protocol = packet[9];
        var l4 = packet[headerLength..];
        var l4Length = totalLength - headerLength;
        switch (protocol)
        {
            case ProtoIcmp:
                state.Src = IpAddress128.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(packet[12..]));
                state.Dst = IpAddress128.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(packet[16..]));
                return Icmp(l4, l4Length, 8, 0, ref state);
            case ProtoUdp:
                return Udp(l4, ref state, depth);
            case ProtoGre:
                return Gre(l4, ref state, depth);
            default:
                return DecodeStatus.NotEcho;
        }
    }

    private static DecodeStatus IPv6(ReadOnlySpan<byte> packet, ref State state, int depth)
    {
        if (packet.Length < 40)
        {
            return DecodeStatus.Truncated;
        }

        if (packet[0] >> 4 != 6)
        {
            return DecodeStatus.Malformed;
        }

        int payloadLength = BinaryPrimitives.ReadUInt16BigEndian(packet[4..]);
        if (payloadLength == 0)
        {
            // Jumbograms and offloaded segments: trust what was captured.
            payloadLength = packet.Length - 40;
        }

        var next = packet[6];
        var rest = packet[40..];
        for (var headers = 0; ; headers++)
        {
            if (headers == MaxIPv6ExtensionHeaders)
            {
                return DecodeStatus.NotEcho;
            }

            int extensionLength;
            switch (next)
            {
                case 0 or 43 or 60: // hop-by-hop, routing, destination options
                    if (rest.Length < 2)
                    {
                        return DecodeStatus.Truncated;
                    }

                    extensionLength = (rest[1] + 1) * 8;
                    break;
                case 44: // fragment
                    if (rest.Length < 8)
                    {
                        return DecodeStatus.Truncated;
                    }

                    if ((BinaryPrimitives.ReadUInt16BigEndian(rest[2..]) & 0xFFF8) != 0)
                    {
                        return DecodeStatus.NotEcho;
                    }

                    extensionLength = 8;
                    break;
                case 51: // authentication header counts in 4-byte units
                    if (rest.Length < 2)
                    {
                        return DecodeStatus.Truncated;
                    }

                    extensionLength = (rest[1] + 2) * 4;
                    break;
                default:
                    extensionLength = -1;
                    break;
            }

            if (extensionLength < 0)
            {
                break;
            }

            if (extensionLength > payloadLength)
            {
                return DecodeStatus.Malformed;
            }

            if (rest.Length < extensionLength)
            {
                return DecodeStatus.Truncated;
            }

            next = rest[0];
            rest = rest[extensionLength..];
            payloadLength -= extensionLength;
        }

        switch (next)
        {
            case ProtoIcmpV6:
                state.Src = BinaryPrimitives.ReadUInt128BigEndian(packet[8..]);
                state.Dst = BinaryPrimitives.ReadUInt128BigEndian(packet[24..]);
                return Icmp(rest, payloadLength, 128, 129, ref state);
            case ProtoUdp:
                return Udp(rest, ref state, depth);
            case ProtoGre:
                return Gre(rest, ref state, depth);
            default:
                return DecodeStatus.NotEcho;
        }
    }

    private static DecodeStatus Icmp(ReadOnlySpan<byte> icmp, int declaredLength, byte requestType, byte replyType, ref State state)
    {
        if (icmp.IsEmpty)
        {
            return DecodeStatus.Truncated;
        }

        var type = icmp[0];
        if (type != requestType && type != replyType)
        {
            return DecodeStatus.NotEcho;
        }

        if (icmp.Length < 8)
        {
            return DecodeStatus.Truncated;
        }

        if (declaredLength < 8)
        {
            return DecodeStatus.Malformed;
        }

        state.Type = type == requestType ? EchoType.Request : EchoType.Reply;
        state.Id = BinaryPrimitives.ReadUInt16BigEndian(icmp[4..]);
        state.Seq = BinaryPrimitives.ReadUInt16BigEndian(icmp[6..]);
        state.Hash = PayloadHash(icmp[8..], declaredLength - 8);
        return DecodeStatus.Ok;
    }

    private static DecodeStatus Udp(ReadOnlySpan<byte> udp, ref State state, int depth)
    {
        if (udp.Length < 8)
        {
            return DecodeStatus.Truncated;
        }

        var port = BinaryPrimitives.ReadUInt16BigEndian(udp[2..]);
        var body = udp[8..];
        switch (port)
        {
            case 4789 or 8472: // VXLAN (IANA) and the Linux kernel's historical default
                if (depth >= MaxTunnelDepth)
                {
                    return DecodeStatus.NotEcho;
                }

                if (body.Length < 8)
                {
                    return DecodeStatus.Truncated;
                }

                return Ethernet(body[8..], ref state, depth + 1);
            case 6635: // MPLS over UDP (RFC 7510)
                return depth >= MaxTunnelDepth ? DecodeStatus.NotEcho : Mpls(body, ref state, depth + 1);
            case 6081: // Geneve
                if (depth >= MaxTunnelDepth)
                {
                    return DecodeStatus.NotEcho;
                }

                if (body.Length < 8)
                {
                    return DecodeStatus.Truncated;
                }

                var optionsLength = (body[0] & 0x3F) * 4;
                if (body.Length < 8 + optionsLength)
                {
                    return DecodeStatus.Truncated;
                }

                return Inner(BinaryPrimitives.ReadUInt16BigEndian(body[2..]), body[(8 + optionsLength)..], ref state, depth + 1);
            default:
                return DecodeStatus.NotEcho;
        }
    }

    private static DecodeStatus Gre(ReadOnlySpan<byte> gre, ref State state, int depth)
    {
        if (depth >= MaxTunnelDepth)
        {
            return DecodeStatus.NotEcho;
        }

        if (gre.Length < 4)
        {
            return DecodeStatus.Truncated;
        }

        var flags = BinaryPrimitives.ReadUInt16BigEndian(gre);
        if ((flags & 0x0007) != 0 || (flags & 0x4000) != 0)
        {
            // Version 1 is PPTP's enhanced GRE; the routing bit (RFC 1701) is obsolete.
            return DecodeStatus.NotEcho;
        }

        var headerLength = 4;
        if ((flags & 0x8000) != 0)
        {
            headerLength += 4; // checksum + reserved
        }

        if ((flags & 0x2000) != 0)
        {
            headerLength += 4; // key
        }

        if ((flags & 0x1000) != 0)
        {
            headerLength += 4; // sequence number
        }

        if (gre.Length < headerLength)
        {
            return DecodeStatus.Truncated;
        }

        var protocol = BinaryPrimitives.ReadUInt16BigEndian(gre[2..]);
        var body = gre[headerLength..];
        switch (protocol)
        {
            case EtherTypeErspan when (flags & 0x1000) == 0:
                // ERSPAN type I: no sequence number and no ERSPAN header, the mirrored frame follows.
                return Ethernet(body, ref state, depth + 1);
            case EtherTypeErspan:
                // Type II: an 8-byte ERSPAN header, version 1.
                if (body.Length < 8)
                {
                    return DecodeStatus.Truncated;
                }

                return body[0] >> 4 == 1 ? Ethernet(body[8..], ref state, depth + 1) : DecodeStatus.Malformed;
            case EtherTypeErspan3:
                // Type III: a 12-byte header, version 2, and an 8-byte platform sub-header when O is set.
                if (body.Length < 12)
                {
                    return DecodeStatus.Truncated;
                }

                if (body[0] >> 4 != 2)
                {
                    return DecodeStatus.Malformed;
                }

                var length = (body[11] & 0x01) != 0 ? 20 : 12;
                return body.Length < length ? DecodeStatus.Truncated : Ethernet(body[length..], ref state, depth + 1);
            default:
                return Inner(protocol, body, ref state, depth + 1);
        }
    }

    private static DecodeStatus Inner(ushort protocol, ReadOnlySpan<byte> inner, ref State state, int depth) => protocol switch
    {
        EtherTypeTransparentBridging => Ethernet(inner, ref state, depth),
        EtherTypeIPv4 => IPv4(inner, ref state, depth),
        EtherTypeIPv6 => IPv6(inner, ref state, depth),
        EtherTypeMpls or EtherTypeMplsMulticast => Mpls(inner, ref state, depth),
        _ => DecodeStatus.NotEcho,
    };

    private struct State
    {
        public UInt128 Src;
        public UInt128 Dst;
        public EchoType Type;
        public ushort Id;
        public ushort Seq;
        public uint Hash;
        public uint WireLength;
        public ushort Vlan;
    }
}
