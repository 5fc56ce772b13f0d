using HopCapture.Packets.Filters;
using SharpPcap.LibPcap;

namespace HopCapture.Tests.Packets;

public class EchoFilterTests
{
    [TestCase(FilterDirection.Any, false)]
    [TestCase(FilterDirection.Any, true)]
    [TestCase(FilterDirection.Inbound, false)]
    [TestCase(FilterDirection.Outbound, true)]
    public void Build_AnyVariant_CompilesInLibpcap(FilterDirection direction, bool tunnels)
    {
        var filter = EchoFilter.Build(direction, tunnels);
        Assert.That(PcapDevice.CheckFilter(filter, out var error), Is.True, error);
    }

    [Test]
    public void Build_Inbound_PrefixesWholeExpression()
    {
        var filter = EchoFilter.Build(FilterDirection.Inbound);
        Assert.Multiple(() =>
        {
            Assert.That(filter, Does.StartWith("inbound and ("));
            Assert.That(filter, Does.EndWith(")"));
            Assert.That(filter, Does.Contain("vlan and"));
        });
    }
}

/// <summary>
/// The tunnel clauses run in libpcap's BPF machine (the same compiled program the kernel gets) over
/// hand-made frames: Geneve cannot be created in this machine's namespaces ("Unknown device
/// type"), so its computed offsets are proven here; VXLAN is also captured live (TunnelCaptureTests).
/// </summary>
public class EchoFilterTunnelTests
{
    private static bool Matches(byte[] frame, bool tunnels = true)
    {
        using var program = BpfProgram.Create(PacketDotNet.LinkLayers.Ethernet, EchoFilter.Build(FilterDirection.Any, tunnels));
        return program.Matches(frame);
    }

    private static byte[] Outer(byte[] udp) => Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 17, udp));

    [TestCase(4789)]
    [TestCase(8472)]
    public void Build_Tunnels_MatchVxlanInnerEcho(int port)
    {
        var frame = Outer(Frames.Udp((ushort)port, Frames.Vxlan(Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2))));
        Assert.Multiple(() =>
        {
            Assert.That(Matches(frame), Is.True);
            Assert.That(Matches(frame, tunnels: false), Is.False);
        });
    }

    [TestCase(0)]
    [TestCase(4)]
    [TestCase(12)]
    [TestCase(252)]
    public void Build_Tunnels_MatchGeneveEthernetInnerEchoWhateverTheOptionsLength(int optionBytes)
    {
        var frame = Outer(Frames.Udp(6081, Frames.Geneve(0x6558, Frames.EthernetEcho(0, "10.0.0.2", "10.0.0.1", 3, 4), optionBytes)));
        Assert.That(Matches(frame), Is.True);
    }

    [TestCase(0)]
    [TestCase(8)]
    public void Build_Tunnels_MatchGeneveBareIPv4InnerEcho(int optionBytes)
    {
        var inner = Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(8, 5, 6, Frames.Payload(16)));
        Assert.That(Matches(Outer(Frames.Udp(6081, Frames.Geneve(0x0800, inner, optionBytes)))), Is.True);
    }

    [Test]
    public void Build_Tunnels_GeneveInnerTcpAndOtherUdpDropped()
    {
        var tcp = Frames.Ethernet(0x0800, Frames.IPv4("10.0.0.1", "10.0.0.2", 6, new byte[20]));
        Assert.Multiple(() =>
        {
            // An options length of 8 would move the inner protocol byte if the offset were fixed.
            Assert.That(Matches(Outer(Frames.Udp(6081, Frames.Geneve(0x6558, tcp, 8)))), Is.False);
            Assert.That(Matches(Outer(Frames.Udp(53, new byte[64]))), Is.False);
            Assert.That(Matches(Outer(Frames.Udp(6081, Frames.Geneve(0x6558, Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2), 4))), tunnels: false), Is.False);
        });
    }
}
