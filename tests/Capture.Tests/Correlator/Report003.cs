using System.Globalization;
using Google.Protobuf;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// Field report 003 (seeds/003_…txt, "各段网络的ICMP时间戳"): icmp_seq 110 of 192.168.47.111 →
/// .127, id 21616, captured on six interfaces of four nodes. As agents would send it.
/// </summary>
public static class Report003
{
    public const string Src = "192.168.47.111";
    public const string Dst = "192.168.47.127";
    public const uint IcmpId = 21616;
    public const uint IcmpSeq = 110;
    public const uint PayloadHash = 0xBEEF;

    /// <summary>Round trip at the source nic (120.449 ms) minus at the destination nic (0.084 ms).</summary>
    public const long FabricCostNs = 120_365_000;

    /// <summary>The source guest's round trip: 08.972053 - 08.851499.</summary>
    public const long RoundTripNs = 120_554_000;

    // 2017-04-26 19:53:00 UTC; the report gives seconds within that minute.
    public const long MinuteNs = 1_493_236_380L * 1_000_000_000;

    private static readonly ByteString SrcBytes = ByteString.CopyFrom(192, 168, 47, 111);
    private static readonly ByteString DstBytes = ByteString.CopyFrom(192, 168, 47, 127);

    /// <summary>Node, its interfaces (Hello order), and per interface: request ts, reply ts, request direction.</summary>
    public static readonly IReadOnlyList<(string Node, (string Name, Role Role, string Request, string Reply, Direction RequestDirection)[] Interfaces)> Nodes =
    [
        ("vm_a", [("eth0", Role.Guest, "08.851499", "08.972053", Direction.Out)]),
        ("nc1", [("vif023471", Role.Vif, "08.850975", "08.971458", Direction.In), ("eth0", Role.Nic, "08.850991", "08.971440", Direction.Out)]),
        ("nc2", [("eth0", Role.Nic, "08.851171", "08.851255", Direction.In), ("vif061606", Role.Vif, "08.851188", "08.851241", Direction.Out)]),
        ("vm_b", [("eth0", Role.Guest, "08.850831", "08.850846", Direction.In)]),
    ];

    public static long At(string secondsInMinute) =>
        MinuteNs + (long)Math.Round(decimal.Parse(secondsInMinute, CultureInfo.InvariantCulture) * 1_000_000_000m);

    public static Hello HelloFor(string node, string? instanceId = null)
    {
        var entry = Nodes.Single(n => n.Node == node);
        var hello = new Hello
        {
            Node = node,
            AgentVersion = "test",
            InstanceId = instanceId ?? node + "-" + Guid.NewGuid().ToString("N")[..8],
            NextSeq = 1,
            Clock = new ClockStatus { Synchronized = true, Source = "test" },
        };
        foreach (var iface in entry.Interfaces)
        {
            hello.Interfaces.Add(new InterfaceInfo { Name = iface.Name, Role = iface.Role });
        }

        return hello;
    }

    /// <summary>The node's request and reply observations of the probe.</summary>
    public static List<Observation> ObservationsFor(string node, uint seq = IcmpSeq)
    {
        var entry = Nodes.Single(n => n.Node == node);
        var list = new List<Observation>();
        for (var i = 0; i < entry.Interfaces.Length; i++)
        {
            var iface = entry.Interfaces[i];
            list.Add(Request((uint)i, At(iface.Request), iface.RequestDirection, seq));
            list.Add(Reply((uint)i, At(iface.Reply), iface.RequestDirection == Direction.Out ? Direction.In : Direction.Out, seq));
        }

        return list;
    }

    public static Observation Request(uint iface, long tsNs, Direction direction, uint seq = IcmpSeq) => new()
    {
        Iface = iface,
        Direction = direction,
        TsNs = tsNs,
        Src = SrcBytes,
        Dst = DstBytes,
        Type = EchoType.Request,
        IcmpId = IcmpId,
        IcmpSeq = seq,
        PayloadHash = PayloadHash,
        WireLength = 98,
    };

    public static Observation Reply(uint iface, long tsNs, Direction direction, uint seq = IcmpSeq) => new()
    {
        Iface = iface,
        Direction = direction,
        TsNs = tsNs,
        Src = DstBytes,
        Dst = SrcBytes,
        Type = EchoType.Reply,
        IcmpId = IcmpId,
        IcmpSeq = seq,
        PayloadHash = PayloadHash,
        WireLength = 98,
    };

    /// <summary>Connects one agent per node, sends each node's observations as batch 1 and disconnects.</summary>
    public static async Task SendAllAsync(TestCorrelator correlator, uint seq = IcmpSeq)
    {
        foreach (var (node, _) in Nodes)
        {
            await using var agent = await TestAgent.ConnectAsync(correlator, HelloFor(node));
            var observations = ObservationsFor(node, seq);
            var ack = await agent.SendBatchAsync(1, observations);
            Assert.That(ack.Accepted, Is.EqualTo((uint)observations.Count), $"{node}: every observation accepted ({ack.RejectReason})");
        }
    }
}
