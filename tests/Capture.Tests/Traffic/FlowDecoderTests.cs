using System.Net;
using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;
using HopCapture.Packets.Flows;
using HopCapture.Tests.Packets;

namespace HopCapture.Tests.Traffic;

public class FlowDecoderTests
{
    private static UInt128 Ip(string text) => IpAddress128.FromIPAddress(IPAddress.Parse(text));

    [Test]
    public void TryDecode_UdpInsideTwoVlanTags_OuterFiveTuple()
    {
        var frame = Frames.Ethernet(0x0800, Frames.IPv4("10.77.0.3", "10.77.0.1", 17, Frames.Udp(5201, new byte[1200])), (0x88A8, 100), (0x8100, 200));

        Assert.That(FlowDecoder.TryDecode(frame, LinkType.Ethernet, out var flow), Is.True);
        Assert.That(flow, Is.EqualTo(new FlowHeaders(Ip("10.77.0.3"), Ip("10.77.0.1"), 17, 40000, 5201)));
    }

    [Test]
    public void TryDecode_VxlanTunnel_ChargedToTheTunnelNotTheInnerFlow()
    {
        var inner = Frames.EthernetEcho(8, "192.168.0.1", "192.168.0.2", 1, 1);
        var frame = Frames.Ethernet(0x0800, Frames.IPv4("10.0.0.1", "10.0.0.2", 17, Frames.Udp(4789, Frames.Vxlan(inner))));

        Assert.That(FlowDecoder.TryDecode(frame, LinkType.Ethernet, out var flow), Is.True);
        Assert.That((flow.Src, flow.Dst, flow.DstPort), Is.EqualTo((Ip("10.0.0.1"), Ip("10.0.0.2"), (ushort)4789)));
    }

    [Test]
    public void TryDecode_LaterFragment_NoPorts()
    {
        var frame = Frames.Ethernet(0x0800, Frames.IPv4("10.0.0.1", "10.0.0.2", 17, new byte[64], fragment: 185));

        Assert.That(FlowDecoder.TryDecode(frame, LinkType.Ethernet, out var flow), Is.True);
        Assert.That((flow.Protocol, flow.SrcPort, flow.DstPort), Is.EqualTo(((byte)17, (ushort)0, (ushort)0)));
    }

    [Test]
    public void TryDecode_Ipv6TcpOnCookedCapture_AddressesAndPorts()
    {
        var tcp = new byte[20];
        tcp[0] = 0x1A; tcp[1] = 0x85; // 6789 (ceph-mon)
        tcp[2] = 0xC3; tcp[3] = 0x50; // 50000
        var frame = Frames.Sll(0x86DD, Frames.IPv6("fd00::1", "fd00::2", 6, tcp));

        Assert.That(FlowDecoder.TryDecode(frame, LinkType.LinuxSll, out var flow), Is.True);
        Assert.That(flow, Is.EqualTo(new FlowHeaders(Ip("fd00::1"), Ip("fd00::2"), 6, 6789, 50000)));
    }

    [Test]
    public void TryDecode_ArpOrTruncated_False()
    {
        Assert.That(FlowDecoder.TryDecode(Frames.Ethernet(0x0806, new byte[28]), LinkType.Ethernet, out _), Is.False);
        Assert.That(FlowDecoder.TryDecode(new byte[20], LinkType.Ethernet, out _), Is.False);
        Assert.That(FlowDecoder.TryDecode(Frames.Ethernet(0x0800, new byte[10]), LinkType.Ethernet, out _), Is.False);
    }
}
