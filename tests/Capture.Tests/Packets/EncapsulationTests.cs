using System.Buffers.Binary;
using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;
using HopCapture.Packets.Files;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Packets;

/// <summary>
/// Encapsulations real captures carry that a fabric observation point sees (issue 11): switch
/// port mirrors (ERSPAN I/II/III), MPLS (on Ethernet, in GRE, over UDP, pseudowires), MACsec
/// integrity-only, IPv6 segment routing, and BSD loopback captures.
/// </summary>
public sealed class EncapsulationTests
{
    private static readonly UInt128 V4A = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("10.0.0.1"));
    private static readonly UInt128 V4B = IpAddress128.FromIPAddress(System.Net.IPAddress.Parse("10.0.0.2"));

    private static byte[] InnerIp(ushort seq = 42) => Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(8, 7, seq, Frames.Payload(32)));

    private static byte[] InnerFrame(ushort seq = 42) => Frames.Ethernet(0x0800, InnerIp(seq));

    private static void AssertInnerEcho(byte[] frame, int linkType, ushort seq = 42)
    {
        var status = EchoDecoder.Decode(frame, linkType, (uint)frame.Length, out var echo);
        Assert.Multiple(() =>
        {
            Assert.That(status, Is.EqualTo(DecodeStatus.Ok));
            Assert.That(echo.Src, Is.EqualTo(V4A), "the mirrored packet's source, not the tunnel's");
            Assert.That(echo.Dst, Is.EqualTo(V4B));
            Assert.That(echo.Type, Is.EqualTo(EchoType.Request));
            Assert.That((echo.Id, echo.Seq), Is.EqualTo(((ushort)7, seq)));
        });
    }

    private static byte[] OverGre(ushort flags, ushort protocol, byte[] body) =>
        Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 47, Frames.Gre(flags, protocol, body)));

    [Test]
    public void Decode_ErspanTypeI_ReadsTheMirroredEcho()
    {
        AssertInnerEcho(OverGre(0x0000, 0x88BE, InnerFrame()), LinkType.Ethernet);
    }

    [Test]
    public void Decode_ErspanTypeII_ReadsTheMirroredEcho()
    {
        var header = new byte[8];
        header[0] = 0x10; // version 1
        header[1] = 0x64; // VLAN 100
        AssertInnerEcho(OverGre(0x1000, 0x88BE, [.. header, .. InnerFrame()]), LinkType.Ethernet);
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Decode_ErspanTypeIII_ReadsTheMirroredEcho(bool platformSubHeader)
    {
        var header = new byte[platformSubHeader ? 20 : 12];
        header[0] = 0x20; // version 2
        header[11] = (byte)(platformSubHeader ? 0x01 : 0x00);
        AssertInnerEcho(OverGre(0x1000, 0x22EB, [.. header, .. InnerFrame()]), LinkType.Ethernet);
    }

    [Test]
    public void Decode_ErspanWrongVersion_IsMalformedNotAMisreadEcho()
    {
        var header = new byte[8];
        header[0] = 0x70;
        Assert.That(EchoDecoder.Decode(OverGre(0x1000, 0x88BE, [.. header, .. InnerFrame()]), LinkType.Ethernet, 200, out _), Is.EqualTo(DecodeStatus.Malformed));
    }

    private static byte[] Labels(params uint[] labels)
    {
        var stack = new byte[labels.Length * 4];
        for (var i = 0; i < labels.Length; i++)
        {
            var entry = (labels[i] << 12) | (i == labels.Length - 1 ? 0x100u : 0u) | 64u; // TTL 64, S on the last
            BinaryPrimitives.WriteUInt32BigEndian(stack.AsSpan(i * 4), entry);
        }

        return stack;
    }

    [Test]
    public void Decode_MplsTwoLabelsOnEthernet_ReadsTheIpEcho()
    {
        AssertInnerEcho(Frames.Ethernet(0x8847, [.. Labels(16, 2001), .. InnerIp()]), LinkType.Ethernet);
    }

    [Test]
    public void Decode_MplsOverUdp_ReadsTheIpEcho()
    {
        var frame = Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 17, Frames.Udp(6635, [.. Labels(3000), .. InnerIp()])));
        AssertInnerEcho(frame, LinkType.Ethernet);
    }

    [Test]
    public void Decode_MplsInGre_ReadsTheIpEcho()
    {
        AssertInnerEcho(OverGre(0x0000, 0x8847, [.. Labels(77), .. InnerIp()]), LinkType.Ethernet);
    }

    [Test]
    public void Decode_MplsPseudowireWithControlWord_ReadsTheEthernetEcho()
    {
        AssertInnerEcho(Frames.Ethernet(0x8847, [.. Labels(500), 0, 0, 0, 0, .. InnerFrame()]), LinkType.Ethernet);
    }

    [Test]
    public void Decode_MplsStackWithoutBottom_IsMalformedOrTruncatedNeverAnEcho()
    {
        var endless = new byte[9 * 4]; // no S bit anywhere
        Assert.That(EchoDecoder.Decode(Frames.Ethernet(0x8847, endless), LinkType.Ethernet, 100, out _), Is.EqualTo(DecodeStatus.Malformed));
        Assert.That(EchoDecoder.Decode(Frames.Ethernet(0x8847, new byte[6]), LinkType.Ethernet, 100, out _), Is.EqualTo(DecodeStatus.Truncated));
    }

    [TestCase(false)]
    [TestCase(true)]
    public void Decode_MacsecIntegrityOnly_ReadsTheEcho(bool withSci)
    {
        var secTag = new byte[withSci ? 14 : 6];
        secTag[0] = (byte)(withSci ? 0x20 : 0x00); // TCI: SC when the SCI is present; E and C clear
        var type = new byte[2];
        BinaryPrimitives.WriteUInt16BigEndian(type, 0x0800);
        var icv = new byte[16];
        AssertInnerEcho(Frames.Ethernet(0x88E5, [.. secTag, .. type, .. InnerIp(), .. icv]), LinkType.Ethernet);
    }

    [Test]
    public void Decode_MacsecEncrypted_IsNotEcho()
    {
        var secTag = new byte[6];
        secTag[0] = 0x0C; // E and C: confidentiality, nothing in clear
        Assert.That(EchoDecoder.Decode(Frames.Ethernet(0x88E5, [.. secTag, 0x08, 0x00, .. InnerIp()]), LinkType.Ethernet, 200, out _), Is.EqualTo(DecodeStatus.NotEcho));
    }

    [Test]
    public void Decode_IPv6SegmentRoutingHeader_ReadsTheEcho()
    {
        // SRH (routing type 4) with two segments: 8 bytes + 2 × 16, length field (40 / 8) - 1 = 4.
        var srh = new byte[40];
        srh[1] = 4;
        srh[2] = 4; // routing type: segment routing
        srh[3] = 1; // segments left
        var ip = Frames.IPv6("fd00::1", "fd00::2", 58, Frames.Icmp(128, 7, 42, Frames.Payload(32)), (43, srh));
        var status = EchoDecoder.Decode(Frames.Ethernet(0x86DD, ip), LinkType.Ethernet, 200, out var echo);

        Assert.That((status, echo.Seq), Is.EqualTo((DecodeStatus.Ok, (ushort)42)));
    }

    [TestCase(LinkType.Null, 2u, false)]    // AF_INET, little-endian writer (macOS on x86/arm)
    [TestCase(LinkType.Null, 30u, false)]   // AF_INET6 on macOS
    [TestCase(LinkType.Loop, 2u, true)]     // OpenBSD: network order
    public void Decode_BsdLoopback_ReadsTheEcho(int linkType, uint family, bool bigEndian)
    {
        var header = new byte[4];
        if (bigEndian)
        {
            BinaryPrimitives.WriteUInt32BigEndian(header, family);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(header, family);
        }

        var packet = family == 30
            ? Frames.IPv6("fd00::1", "fd00::2", 58, Frames.Icmp(128, 7, 42, Frames.Payload(32)))
            : InnerIp();
        var status = EchoDecoder.Decode([.. header, .. packet], linkType, 100, out var echo);

        Assert.That((status, echo.Id, echo.Seq), Is.EqualTo((DecodeStatus.Ok, (ushort)7, (ushort)42)));
    }

    [Test]
    public void Read_BsdLoopbackPcap_FileIsAnalysed()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hc-lo0-{Guid.NewGuid():N}.pcap");
        try
        {
            using (var builder = new PcapFileBuilder(path, linkType: LinkType.Null))
            {
                for (ushort seq = 1; seq <= 3; seq++)
                {
                    builder.AddRaw(seq * 1_000_000_000L, [2, 0, 0, 0, .. InnerIp(seq)]);
                }
            }

            var read = CaptureFileReader.ReadObservations(path, 0);

            Assert.That(read.Observations.Select(o => o.IcmpSeq), Is.EqualTo(new ushort[] { 1, 2, 3 }));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
