using System.Net;
using HopCapture.Packets.Decoding;
using HopCapture.Protos;
using HopCapture.Tests.Packets;
using HopCapture.Tests.Support;
using Google.Protobuf;

namespace HopCapture.Fuzz;

/// <summary>
/// Writes the seed corpus (`hopcapture-fuzz --seed-corpus DIR`): one valid input per framing and
/// file format the targets read, from the same builders the tests use. AFL and the mutation run
/// start from these; what they find later is added next to them.
/// </summary>
public static class CorpusSeeds
{
    public static void Write(string root)
    {
        var decoder = Directory.CreateDirectory(Path.Combine(root, "decoder")).FullName;
        var ip = Frames.IPv4("10.0.0.1", "10.0.0.2", 1, Frames.Icmp(8, 7, 42, Frames.Payload(32)));
        var ip6 = Frames.IPv6("fd00::1", "fd00::2", 58, Frames.Icmp(128, 7, 42, Frames.Payload(32)), (0, new byte[8]), (44, new byte[8]));
        var eth = Frames.Ethernet(0x0800, ip);
        var erspan2 = new byte[8];
        erspan2[0] = 0x10;
        (string Name, int LinkType, byte[] Frame)[] frames =
        [
            ("ethernet", LinkType.Ethernet, eth),
            ("vlan-qinq", LinkType.Ethernet, Frames.Ethernet(0x0800, ip, (0x88A8, 300), (0x8100, 20))),
            ("ipv6-ext", LinkType.Ethernet, Frames.Ethernet(0x86DD, ip6)),
            ("vxlan", LinkType.Ethernet, Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 17, Frames.Udp(4789, Frames.Vxlan(eth))))),
            ("geneve", LinkType.Ethernet, Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 17, Frames.Udp(6081, Frames.Geneve(0x6558, eth, 8))))),
            ("gre", LinkType.Ethernet, Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 47, Frames.Gre(0xB000, 0x0800, ip)))),
            ("erspan2", LinkType.Ethernet, Frames.Ethernet(0x0800, Frames.IPv4("192.0.2.1", "192.0.2.2", 47, Frames.Gre(0x1000, 0x88BE, [.. erspan2, .. eth])))),
            ("mpls", LinkType.Ethernet, Frames.Ethernet(0x8847, [0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40, .. ip])),
            ("macsec", LinkType.Ethernet, Frames.Ethernet(0x88E5, [0x20, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x08, 0x00, .. ip, .. new byte[16]])),
            ("sll", LinkType.LinuxSll, Frames.Sll(0x0800, ip)),
            ("sll2", LinkType.LinuxSll2, Frames.Sll2(0x86DD, ip6)),
            ("raw", LinkType.Raw, ip),
            ("bsd-null", LinkType.Null, [2, 0, 0, 0, .. ip]),
        ];
        int[] order = [LinkType.Ethernet, LinkType.LinuxSll, LinkType.LinuxSll2, LinkType.Raw, LinkType.IPv4, LinkType.IPv6, LinkType.Null, LinkType.Loop];
        foreach (var (name, linkType, frame) in frames)
        {
            File.WriteAllBytes(Path.Combine(decoder, name + ".bin"), [(byte)Array.IndexOf(order, linkType), .. frame]);
        }

        var files = Directory.CreateDirectory(Path.Combine(root, "capture-file")).FullName;
        foreach (var format in Enum.GetValues<PcapFormat>())
        {
            var path = Path.Combine(files, $"{format.ToString().ToLowerInvariant()}.cap");
            using (var builder = new PcapFileBuilder(path, format: format))
            {
                if (format == PcapFormat.Pcapng)
                {
                    builder.AddInterface("eth1");
                }

                for (ushort seq = 1; seq <= 3; seq++)
                {
                    builder.AddEcho(seq * 1_000_000_000L, IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"), request: true, 7, seq, seq);
                    builder.AddEcho(seq * 1_000_000_000L + 500_000, IPAddress.Parse("10.0.0.2"), IPAddress.Parse("10.0.0.1"), request: false, 7, seq, seq);
                }
            }
        }

        var ingest = Directory.CreateDirectory(Path.Combine(root, "ingest")).FullName;
        var hello = new AgentMessage { Hello = new Hello { Node = "hv1", InstanceId = "seed", NextSeq = 1, Interfaces = { new InterfaceInfo { Name = "eno1", Role = Role.Nic } } } };
        var batch = new ObservationBatch { Seq = 1 };
        batch.Observations.Add(new Observation
        {
            Iface = 0, Direction = Direction.Out, TsNs = 1_700_000_000_000_000_000, Type = EchoType.Request, IcmpId = 7, IcmpSeq = 42,
            Src = ByteString.CopyFrom(10, 0, 0, 1), Dst = ByteString.CopyFrom(10, 0, 0, 2), PayloadHash = 0xBEEF, WireLength = 98,
        });
        File.WriteAllBytes(Path.Combine(ingest, "hello.bin"), hello.ToByteArray());
        File.WriteAllBytes(Path.Combine(ingest, "batch.bin"), new AgentMessage { Batch = batch }.ToByteArray());
        File.WriteAllBytes(Path.Combine(ingest, "heartbeat.bin"), new AgentMessage { Heartbeat = new Heartbeat { TsNs = 1, Buffered = 3 } }.ToByteArray());
    }
}
