using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;

namespace HopCapture.Tests.Packets;

public class EchoDecoderTests
{
    // FNV-1a 32 of the bytes 0x10..0x1F (Frames.Payload's first 16 bytes), computed outside .NET.
    private const uint Hash16 = 0x72E53F15;

    private static readonly UInt128 V4A = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("10.0.0.1"));
    private static readonly UInt128 V4B = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("10.0.0.2"));

    private static DecodedEcho DecodeOk(byte[] frame, int linkType)
    {
        var status = EchoDecoder.Decode(frame, linkType, (uint)frame.Length + 4, out var echo);
        Assert.That(status, Is.EqualTo(DecodeStatus.Ok));
        return echo;
    }

    private static void AssertEcho(DecodedEcho echo, UInt128 src, UInt128 dst, EchoType type, ushort id, ushort seq, uint wire, ushort vlan = 0, uint hash = Hash16)
    {
        Assert.Multiple(() =>
        {
            Assert.That(echo.Src, Is.EqualTo(src), "src");
            Assert.That(echo.Dst, Is.EqualTo(dst), "dst");
            Assert.That(echo.Type, Is.EqualTo(type), "type");
            Assert.That(echo.Id, Is.EqualTo(id), "id");
            Assert.That(echo.Seq, Is.EqualTo(seq), "seq");
            Assert.That(echo.PayloadHash, Is.EqualTo(hash), "hash");
            Assert.That(echo.WireLength, Is.EqualTo(wire), "wire length");
            Assert.That(echo.Vlan, Is.EqualTo(vlan), "vlan");
        });
    }

    [Test]
    public void Decode_EthernetIPv4EchoRequest_ReadsEveryField()
    {
        var frame = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 0x1234, 7);
        AssertEcho(DecodeOk(frame, LinkType.Ethernet), V4A, V4B, EchoType.Request, 0x1234, 7, (uint)frame.Length + 4);
    }

    [Test]
    public void Decode_EthernetIPv4EchoReply_ReadsEveryField()
    {
        var frame = Frames.EthernetEcho(0, "10.0.0.2", "10.0.0.1", 0xBEEF, 65535);
        AssertEcho(DecodeOk(frame, LinkType.Ethernet), V4B, V4A, EchoType.Reply, 0xBEEF, 65535, (uint)frame.Length + 4);
    }

    [Test]
    public void Decode_Vlan8021Q_ReportsVlanId()
    {
        var ip = Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(8, 1, 2, Frames.Payload(32)));
        var frame = Frames.Ethernet(0x0800, ip, (0x8100, 0x2064));
        AssertEcho(DecodeOk(frame, LinkType.Ethernet), V4A, V4B, EchoType.Request, 1, 2, (uint)frame.Length + 4, vlan: 100);
    }

    [TestCase((ushort)0x88A8)]
    [TestCase((ushort)0x9100)]
    public void Decode_QinQ_ReportsOuterVlan(ushort outerTpid)
    {
        var ip = Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(0, 9, 10, Frames.Payload(32)));
        var frame = Frames.Ethernet(0x0800, ip, (outerTpid, 300), (0x8100, 20));
        AssertEcho(DecodeOk(frame, LinkType.Ethernet), V4A, V4B, EchoType.Reply, 9, 10, (uint)frame.Length + 4, vlan: 300);
    }

    [Test]
    public void Decode_IPv6EchoRequestBehindExtensionHeaders_ReadsEveryField()
    {
        var hopByHop = new byte[8];
        var destinationOptions = new byte[16];
        destinationOptions[1] = 1; // (1 + 1) * 8 bytes
        var fragment = new byte[8]; // offset 0: the first fragment
        var ip = Frames.IPv6("fd00::1", "fd00::2", 58, Frames.Icmp(128, 77, 78, Frames.Payload(40)), (0, hopByHop), (60, destinationOptions), (44, fragment));
        var frame = Frames.Ethernet(0x86DD, ip);
        var src = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("fd00::1"));
        var dst = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("fd00::2"));
        AssertEcho(DecodeOk(frame, LinkType.Ethernet), src, dst, EchoType.Request, 77, 78, (uint)frame.Length + 4);
    }

    [Test]
    public void Decode_IPv6EchoReplyRawIp_ReadsEveryField()
    {
        var frame = Frames.IPv6("fd00::2", "fd00::1", 58, Frames.Icmp(129, 5, 6, Frames.Payload(16)));
        var src = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("fd00::2"));
        var dst = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("fd00::1"));
        AssertEcho(DecodeOk(frame, LinkType.Raw), src, dst, EchoType.Reply, 5, 6, (uint)frame.Length + 4);
    }

    [Test]
    public void Decode_LinuxSll_ReadsEveryField()
    {
        var frame = Frames.Sll(0x0800, Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(8, 3, 4, Frames.Payload(20))));
        AssertEcho(DecodeOk(frame, LinkType.LinuxSll), V4A, V4B, EchoType.Request, 3, 4, (uint)frame.Length + 4);
    }

    [Test]
    public void Decode_LinuxSll2_ReadsEveryField()
    {
        var frame = Frames.Sll2(0x0800, Frames.IPv4("10.0.0.2", "10.0.0.1", 1, Frames.Icmp(0, 3, 4, Frames.Payload(20))));
        AssertEcho(DecodeOk(frame, LinkType.LinuxSll2), V4B, V4A, EchoType.Reply, 3, 4, (uint)frame.Length + 4);
    }

    [TestCase(4789)]
    [TestCase(8472)]
    public void Decode_Vxlan_ReadsInnerEcho(int port)
    {
        var inner = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 11, 12);
        var outer = Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 17, Frames.Udp((ushort)port, Frames.Vxlan(inner))), (0x8100, 5));
        AssertEcho(DecodeOk(outer, LinkType.Ethernet), V4A, V4B, EchoType.Request, 11, 12, (uint)outer.Length + 4, vlan: 5);
    }

    [Test]
    public void Decode_GeneveWithOptions_ReadsInnerEcho()
    {
        var inner = Frames.EthernetEcho(0, "10.0.0.2", "10.0.0.1", 13, 14);
        var outer = Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 17, Frames.Udp(6081, Frames.Geneve(0x6558, inner, 12))));
        AssertEcho(DecodeOk(outer, LinkType.Ethernet), V4B, V4A, EchoType.Reply, 13, 14, (uint)outer.Length + 4);
    }

    [TestCase((ushort)0x0000)]
    [TestCase((ushort)0x8000)]
    [TestCase((ushort)0xB000)]
    public void Decode_GreWithFlagBits_ReadsInnerEcho(ushort flags)
    {
        var inner = Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(8, 15, 16, Frames.Payload(24)));
        var outer = Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 47, Frames.Gre(flags, 0x0800, inner)));
        AssertEcho(DecodeOk(outer, LinkType.Ethernet), V4A, V4B, EchoType.Request, 15, 16, (uint)outer.Length + 4);
    }

    [Test]
    public void Decode_GreTransparentBridging_ReadsInnerEcho()
    {
        var inner = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 17, 18);
        var outer = Frames.IPv6("fd00::a", "fd00::b", 47, Frames.Gre(0x2000, 0x6558, inner));
        AssertEcho(DecodeOk(outer, LinkType.Raw), V4A, V4B, EchoType.Request, 17, 18, (uint)outer.Length + 4);
    }

    [TestCase(14 + 10)]
    [TestCase(14 + 20 + 4)]
    [TestCase(10)]
    public void Decode_CutBeforeEchoHeader_Truncated(int captured)
    {
        var frame = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 1).AsSpan(0, captured).ToArray();
        Assert.That(EchoDecoder.Decode(frame, LinkType.Ethernet, 98, out _), Is.EqualTo(DecodeStatus.Truncated));
    }

    [Test]
    public void Decode_CutInsidePayload_OkWithUnknownHash()
    {
        var full = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2);
        var cut = full.AsSpan(0, 14 + 20 + 8 + 10).ToArray();
        var echo = DecodeOk(cut, LinkType.Ethernet);
        Assert.That(echo.PayloadHash, Is.Zero);
    }

    [Test]
    public void Decode_ShortPayload_HashesDeclaredBytesOnly()
    {
        var frame = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2, payloadLength: 4);
        // Ethernet padding after the IP packet must not enter the hash.
        var padded = frame.Concat(new byte[10]).ToArray();
        Assert.That(DecodeOk(padded, LinkType.Ethernet).PayloadHash, Is.EqualTo(0x44B1B7B1u));
    }

    [Test]
    public void Decode_PayloadCutBySnaplen_HashAgreesWithFullCapture()
    {
        var full = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2, payloadLength: 1400);
        var snap64 = full.AsSpan(0, 64).ToArray();
        var a = DecodeOk(full, LinkType.Ethernet);
        var b = DecodeOk(snap64, LinkType.Ethernet);
        Assert.That(b.PayloadHash, Is.EqualTo(a.PayloadHash).And.EqualTo(Hash16));
    }

    [Test]
    public void Decode_Garbage_NeverOkAndNeverThrows()
    {
        var random = new Random(1234);
        var buffer = new byte[200];
        var ok = 0;
        for (var i = 0; i < 20_000; i++)
        {
            random.NextBytes(buffer);
            var length = random.Next(0, buffer.Length);
            foreach (var linkType in new[] { LinkType.Ethernet, LinkType.LinuxSll, LinkType.LinuxSll2, LinkType.Raw })
            {
                if (EchoDecoder.Decode(buffer.AsSpan(0, length), linkType, (uint)length, out _) == DecodeStatus.Ok)
                {
                    ok++;
                }
            }
        }

        // Random bytes rarely form a consistent echo; a decoder accepting many would be too lax.
        Assert.That(ok, Is.LessThan(50));
    }

    [Test]
    public void Decode_MalformedIPv4HeaderLength_Malformed()
    {
        var frame = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2);
        frame[14] = 0x43; // IHL 3 words
        Assert.That(EchoDecoder.Decode(frame, LinkType.Ethernet, 98, out _), Is.EqualTo(DecodeStatus.Malformed));
    }

    [TestCase((byte)3)]
    [TestCase((byte)11)]
    [TestCase((byte)13)]
    public void Decode_NonEchoIcmp_NotEcho(byte type)
    {
        var frame = Frames.EthernetEcho(type, "10.0.0.1", "10.0.0.2", 1, 2);
        Assert.That(EchoDecoder.Decode(frame, LinkType.Ethernet, 98, out _), Is.EqualTo(DecodeStatus.NotEcho));
    }

    [Test]
    public void Decode_LaterFragment_NotEcho()
    {
        var ip = Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(8, 1, 2, Frames.Payload(32)), fragment: 185);
        Assert.That(EchoDecoder.Decode(Frames.Ethernet(0x0800, ip), LinkType.Ethernet, 80, out _), Is.EqualTo(DecodeStatus.NotEcho));
    }

    [Test]
    public void Decode_Arp_NotEcho()
    {
        Assert.That(EchoDecoder.Decode(Frames.Ethernet(0x0806, new byte[28]), LinkType.Ethernet, 42, out _), Is.EqualTo(DecodeStatus.NotEcho));
    }

    [Test]
    public void Decode_UnknownLinkType_UnsupportedLinkType()
    {
        var frame = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2);
        Assert.That(EchoDecoder.Decode(frame, 105, 98, out _), Is.EqualTo(DecodeStatus.UnsupportedLinkType));
    }

    [Test]
    public void PayloadHash_ComputesZero_ReturnsOne()
    {
        // These five bytes FNV-1a-hash to exactly 0 (found by brute force), which means "unknown".
        byte[] zeroHashing = [0x3D, 0x48, 0xF2, 0x00, 0xE2];
        Assert.Multiple(() =>
        {
            Assert.That(EchoDecoder.PayloadHash(zeroHashing, 5), Is.EqualTo(1u));
            Assert.That(EchoDecoder.PayloadHash([], 0), Is.EqualTo(0x811C9DC5u));
            Assert.That(EchoDecoder.PayloadHash(new byte[3], 4), Is.Zero);
        });
    }

    [Test]
    public void Decode_SteadyState_DoesNotAllocate()
    {
        var frame = Frames.EthernetEcho(8, "10.0.0.1", "10.0.0.2", 1, 2);
        EchoDecoder.Decode(frame, LinkType.Ethernet, 98, out _);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10_000; i++)
        {
            EchoDecoder.Decode(frame, LinkType.Ethernet, 98, out _);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
