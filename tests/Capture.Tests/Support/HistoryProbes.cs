using Google.Protobuf;
using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Tests.Support;

/// <summary>
/// Six-point probes as the correlator stores them, in bulk, for storage size and history
/// benchmarks: field report 003's path (guest, vif, nic on each side), each path with its own
/// clock offsets, per-probe jitter on every point, leg splits on the measured segments, and every
/// 50th probe's reply lost in the fabric. Deterministic for a seed.
/// </summary>
internal sealed class HistoryProbes(int seed = 1)
{
    private static readonly (string Node, string Point, Role Role)[] Points =
        [("vm-a", "eth0", Role.Guest), ("hv-a", "tap100i0", Role.Vif), ("hv-a", "eno1", Role.Nic), ("hv-b", "eno1", Role.Nic), ("hv-b", "tap200i0", Role.Vif), ("vm-b", "eth0", Role.Guest)];

    private static readonly string[] Kinds = ["vif", "nic", "fabric", "nic", "vif", "remote"];

    private readonly Random _random = new(seed);
    private int _seq;

    public static string Src(int path) => $"10.{path / 250}.{path % 250}.11";

    public static string Dst(int path) => $"10.{path / 250}.{path % 250}.27";

    /// <summary>A probe on path <paramref name="path"/> first seen by the correlator at <paramref name="arrivalNs"/>.</summary>
    public ProbeRecord Next(int path, long arrivalNs)
    {
        var seq = (uint)(_seq++ & 0xffff);
        var lost = _seq % 50 == 0;
        var record = new ProbeRecord
        {
            Key = new ProbeKey { Src = Address(Src(path)), Dst = Address(Dst(path)), IcmpId = (uint)(1000 + path), IcmpSeq = seq },
            Src = Src(path),
            Dst = Dst(path),
            ArrivalNs = arrivalNs,
            Answered = !lost,
        };

        // Per node: a clock offset fixed per path (µs), per hop: tens of µs of jitter.
        long[] offsets = [0, 0, 0, 150_000 + (path * 7_000), 150_000 + (path * 7_000), -40_000 + (path * 3_000)];
        var t = arrivalNs - 2_000_000;
        var fabric = 200_000 + _random.Next(0, 400_000);
        long[] hops = [35_000 + _random.Next(20_000), 15_000 + _random.Next(10_000), fabric, 15_000 + _random.Next(10_000), 20_000 + _random.Next(10_000), 12_000 + _random.Next(6_000)];
        var roundTrips = new long[6];
        long remaining = hops.Sum();
        for (var i = 0; i < 6; i++)
        {
            roundTrips[i] = remaining;
            remaining -= hops[i];
        }

        var oneWay = 0L;
        for (var i = 0; i < 6; i++)
        {
            var request = t + oneWay + offsets[i];
            var hasReply = !lost || i >= 3;
            record.Points.Add(new ProbePoint
            {
                Node = Points[i].Node,
                Point = Points[i].Point,
                Role = Points[i].Role,
                RequestIface = Points[i].Point,
                ReplyIface = Points[i].Point,
                RequestDirection = Direction.Out,
                ReplyDirection = Direction.In,
                HasRequest = true,
                HasReply = hasReply,
                RequestTsNs = request,
                ReplyTsNs = hasReply ? request + roundTrips[i] : 0,
                RoundTripNs = hasReply ? roundTrips[i] : 0,
            });
            oneWay += hops[i] / 2;
        }

        for (var i = 0; i < 6; i++)
        {
            var segment = new Segment { FromPoint = i, ToPoint = i == 5 ? -1 : i + 1, Kind = Kinds[i], CostNs = hops[i], WithinNoise = hops[i] < 20_000 };
            if (i < 5 && !lost)
            {
                var requestShare = hops[i] * _random.Next(30, 70) / 100;
                segment.Leg = i == 2 ? "reply" : "both";
                segment.RequestNs = requestShare;
                segment.ReplyNs = hops[i] - requestShare;
                segment.LegUncertaintyNs = 8_000 + _random.Next(4_000);
                segment.OffsetNs = offsets[i + 1] - offsets[i] + _random.Next(-2_000, 2_000);
            }

            record.Segments.Add(segment);
        }

        record.FirstTsNs = record.Points[0].RequestTsNs;
        if (lost)
        {
            record.LostIn = "fabric";
            record.LostLeg = "reply";
            record.LostAfter = "hv-b/eno1";
            record.Verdict = new Verdict { Kind = "lost:fabric", Segment = -1, Text = "lost in fabric" };
            return record;
        }

        record.RttNs = roundTrips[0];
        var verdict = record.Segments[2];
        record.Verdict = new Verdict
        {
            Kind = "fabric",
            CostNs = verdict.CostNs,
            Segment = 2,
            Text = Durations.VerdictText("fabric", verdict.CostNs, new global::HopCapture.Engine.Direction.LegSplit(global::HopCapture.Engine.Direction.SegmentLeg.Reply, verdict.RequestNs, verdict.ReplyNs, verdict.LegUncertaintyNs, verdict.OffsetNs, false)),
        };
        return record;
    }

    private static ByteString Address(string text) => ByteString.CopyFrom(System.Net.IPAddress.Parse(text).GetAddressBytes());
}
