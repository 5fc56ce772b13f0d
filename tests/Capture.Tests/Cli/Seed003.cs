using Google.Protobuf;
using HopCapture.Cli.Parsing;
using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Tests.Cli;

/// <summary>
/// Field report 003 as the correlator would return it: icmp_seq 110 from vm_a (192.168.47.111)
/// to vm_b (192.168.47.127), seen on six interfaces, 120 ms spent in the switch fabric.
/// Timestamps are the report's tcpdump times (each on its own node's clock).
/// </summary>
internal static class Seed003
{
    public static readonly long Base = TimeArguments.ToUnixNs(new DateTimeOffset(2017, 4, 26, 19, 53, 8, TimeSpan.Zero));

    private static long At(int micros) => Base + micros * 1000L;

    public static ProbeRecord Probe()
    {
        var record = new ProbeRecord
        {
            Id = 42,
            Key = new ProbeKey
            {
                Src = ByteString.CopyFrom(192, 168, 47, 111),
                Dst = ByteString.CopyFrom(192, 168, 47, 127),
                IcmpId = 21616,
                IcmpSeq = 110,
            },
            Src = "192.168.47.111",
            Dst = "192.168.47.127",
            FirstTsNs = At(851499),
            RttNs = 120_554_000,
            Answered = true,
        };
        record.Points.Add(Point("vm_a", "eth0", Role.Guest, 851499, 972053));
        record.Points.Add(Point("hv-a", "023471", Role.Vif, 850975, 971458));
        record.Points.Add(Point("hv-a", "eth0", Role.Nic, 850991, 971440));
        record.Points.Add(Point("hv-b", "eth0", Role.Nic, 851171, 851255));
        record.Points.Add(Point("hv-b", "061606", Role.Vif, 851188, 851241));
        record.Points.Add(Point("vm_b", "eth0", Role.Guest, 850831, 850846));
        record.Segments.Add(new Segment { FromPoint = 0, ToPoint = 1, Kind = "vif", CostNs = 71_000 });
        record.Segments.Add(new Segment { FromPoint = 1, ToPoint = 2, Kind = "nic", CostNs = 34_000 });
        record.Segments.Add(new Segment { FromPoint = 2, ToPoint = 3, Kind = "fabric", CostNs = 120_365_000 });
        record.Segments.Add(new Segment { FromPoint = 3, ToPoint = 4, Kind = "nic", CostNs = 31_000 });
        record.Segments.Add(new Segment { FromPoint = 4, ToPoint = 5, Kind = "vif", CostNs = 38_000 });
        record.Segments.Add(new Segment { FromPoint = 5, ToPoint = -1, Kind = "remote", CostNs = 15_000, WithinNoise = true });
        record.Verdict = new Verdict
        {
            Kind = "fabric",
            CostNs = 120_365_000,
            Segment = 2,
            Text = Durations.VerdictText("fabric", 120_365_000, withinNoise: false),
        };
        return record;
    }

    /// <summary>The same probe with the reply lost between the two physical NICs.</summary>
    public static ProbeRecord ReplyLostInFabric()
    {
        var record = Probe();
        record.Answered = false;
        record.RttNs = 0;
        record.LostIn = "fabric";
        record.LostLeg = "reply";
        for (var i = 0; i < 3; i++)
        {
            record.Points[i].HasReply = false;
            record.Points[i].ReplyTsNs = 0;
            record.Points[i].ReplyIface = "";
            record.Points[i].RoundTripNs = 0;
        }

        record.Segments.Clear();
        record.Verdict = new Verdict { Kind = "lost:fabric", Segment = -1, Text = "lost in fabric" };
        return record;
    }

    private static ProbePoint Point(string node, string iface, Role role, int requestMicros, int replyMicros) => new()
    {
        Node = node,
        Point = iface,
        Role = role,
        RequestIface = iface,
        ReplyIface = iface,
        HasRequest = true,
        HasReply = true,
        RequestTsNs = At(requestMicros),
        ReplyTsNs = At(replyMicros),
        RoundTripNs = (replyMicros - requestMicros) * 1000L,
    };
}
