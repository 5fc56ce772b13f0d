using System.Buffers.Binary;
using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;

namespace HopCapture.Packets.Flows;

/// <summary>The outer 5-tuple of a frame: what a link's bytes are charged to.</summary>
public readonly record struct FlowHeaders(UInt128 Src, UInt128 Dst, byte Protocol, ushort SrcPort, ushort DstPort);

/// <summary>
/// Reads the outer IP 5-tuple of a captured frame by hand, for traffic accounting. Only the
/// outermost IP header counts: a VXLAN or GRE tunnel loads the link as the tunnel's flow, which
/// is what an engineer looking for the traffic that filled a link needs. Ports are read for TCP,
/// UDP and SCTP when the frame is not a later fragment; no allocation.
/// </summary>
public static class FlowDecoder
{
    private const ushort EtherTypeIPv4 = 0x0800;
    private const ushort EtherTypeIPv6 = 0x86DD;
    private const int MaxVlanTags = 4;

    /// <summary>False when the frame carries no IP (ARP, LLDP…) or is cut before the addresses.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> frame, int linkType, out FlowHeaders flow)
    {
        flow = default;
        switch (linkType)
        {
            case LinkType.Ethernet:
                return frame.Length >= 14 && EtherTyped(BinaryPrimitives.ReadUInt16BigEndian(frame[12..]), frame[14..], out flow);
            case LinkType.LinuxSll:
                return frame.Length >= 16 && EtherTyped(BinaryPrimitives.ReadUInt16BigEndian(frame[14..]), frame[16..], out flow);
            case LinkType.LinuxSll2:
                return frame.Length >= 20 && EtherTyped(BinaryPrimitives.ReadUInt16BigEndian(frame), frame[20..], out flow);
            case LinkType.Raw or LinkType.RawBsd or LinkType.IPv4 or LinkType.IPv6:
                return Ip(frame, out flow);
            default:
                return false;
        }
    }

    private static bool EtherTyped(ushort etherType, ReadOnlySpan<byte> payload, out FlowHeaders flow)
    {
        flow = default;
        for (var tags = 0; etherType is 0x8100 or 0x88A8 or 0x9100; tags++)
        {
            if (tags == MaxVlanTags || payload.Length < 4)
            {
                return false;
            }

            etherType = BinaryPrimitives.ReadUInt16BigEndian(payload[2..]);
            payload = payload[4..];
        }

        return etherType is EtherTypeIPv4 or EtherTypeIPv6 && Ip(payload, out flow);
    }

    private static bool Ip(ReadOnlySpan<byte> packet, out FlowHeaders flow)
    {
        flow = default;
        if (packet.IsEmpty)
        {
            return false;
        }

        switch (packet[0] >> 4)
        {
            case 4:
            {
                var headerLength = (packet[0] & 0x0F) * 4;
                if (packet.Length < 20 || headerLength < 20)
                {
                    return false;
                }

                var protocol = packet[9];
                var src = IpAddress128.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(packet[12..]));
                var dst = IpAddress128.FromIPv4(BinaryPrimitives.ReadUInt32BigEndian(packet[16..]));
                var laterFragment = (BinaryPrimitives.ReadUInt16BigEndian(packet[6..]) & 0x1FFF) != 0;
                flow = WithPorts(src, dst, protocol, laterFragment || packet.Length < headerLength ? default : packet[headerLength..]);
                return true;
            }

            case 6:
            {
                if (packet.Length < 40)
                {
                    return false;
                }

                var src = IpAddress128.FromBytes(packet.Slice(8, 16));
                var dst = IpAddress128.FromBytes(packet.Slice(24, 16));
                flow = WithPorts(src, dst, packet[6], packet[40..]);
                return true;
            }

            default:
                return false;
        }
    }

    private static FlowHeaders WithPorts(UInt128 src, UInt128 dst, byte protocol, ReadOnlySpan<byte> transport) =>
        protocol is 6 or 17 or 132 && transport.Length >= 4
            ? new FlowHeaders(src, dst, protocol, BinaryPrimitives.ReadUInt16BigEndian(transport), BinaryPrimitives.ReadUInt16BigEndian(transport[2..]))
            : new FlowHeaders(src, dst, protocol, 0, 0);
}
