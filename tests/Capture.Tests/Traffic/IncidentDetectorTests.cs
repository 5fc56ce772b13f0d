using Google.Protobuf;
using HopCapture.Analysis.Probes;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Incidents;
using HopCapture.Protos;

namespace HopCapture.Tests.Traffic;

public class IncidentDetectorTests
{
    private const long Ms = 1_000_000;
    private const long Second = 1_000_000_000;
    private const long T0 = 1_764_547_200L * Second;

    private static Probe Slow(uint seq, long costNs, string kind = "fabric")
    {
        var record = new ProbeRecord
        {
            Id = seq,
            Key = new Protos.ProbeKey { Src = ByteString.CopyFrom(10, 77, 0, 11), Dst = ByteString.CopyFrom(10, 77, 0, 12), IcmpId = 7, IcmpSeq = seq },
            Src = "10.77.0.11",
            Dst = "10.77.0.12",
            FirstTsNs = T0 + (seq * 50 * Ms),
            RttNs = costNs + (100 * 1000),
            Answered = true,
            Verdict = new Verdict { Kind = kind, CostNs = costNs, Segment = 0 },
        };
        record.Points.Add(new Protos.ProbePoint { Node = "hv1", Point = "bond0", Role = Role.Nic, HasRequest = true, HasReply = true, RoundTripNs = costNs + 50_000 });
        record.Points.Add(new Protos.ProbePoint { Node = "hv2", Point = "eno1", Role = Role.Nic, HasRequest = true, HasReply = true, RoundTripNs = 50_000 });
        record.Segments.Add(new Segment { FromPoint = 0, ToPoint = 1, Kind = kind, CostNs = costNs, Leg = "reply", ReplyNs = costNs });
        return record.ToProbe();
    }

    private static IncidentOptions Options() => new() { MinProbes = 3, Window = TimeSpan.FromSeconds(10), Settle = TimeSpan.FromSeconds(2), Cooldown = TimeSpan.FromMinutes(1) };

    [Test]
    public void Observe_ThreeSlowProbesOnOneSegment_OpensOnceAndCollectsWhenQuiet()
    {
        var detector = new IncidentDetector(Options());

        Assert.That(detector.Observe(Slow(1, 120 * Ms), T0), Is.Null);
        Assert.That(detector.Observe(Slow(2, 5 * Ms), T0), Is.Null, "below SlowCost: not part of any cluster");
        Assert.That(detector.Observe(Slow(3, 130 * Ms), T0 + Second), Is.Null);
        var opened = detector.Observe(Slow(4, 125 * Ms), T0 + (2 * Second));
        detector.Observe(Slow(5, 140 * Ms), T0 + (3 * Second));

        Assert.That(opened, Is.Not.Null);
        Assert.That(opened!.Segment, Is.EqualTo(new SegmentKey("fabric", "hv1/bond0", "hv2/eno1", "reply")));
        Assert.That(detector.TakeDue(T0 + (4 * Second)), Is.Empty, "a probe joined 1 s ago: the cluster is not over");
        var due = detector.TakeDue(T0 + (5 * Second));
        Assert.That(due.Single().Probes.Select(p => p.Id), Is.EqualTo(new long[] { 1, 3, 4, 5 }));
        Assert.That(detector.Observe(Slow(6, 120 * Ms), T0 + (6 * Second)), Is.Null);
        Assert.That(detector.Observe(Slow(7, 120 * Ms), T0 + (6 * Second)), Is.Null);
        Assert.That(detector.Observe(Slow(8, 120 * Ms), T0 + (6 * Second)), Is.Null, "cooldown: one incident per segment per minute");
    }

    [Test]
    public void Observe_SlowProbesSpreadBeyondTheWindow_NoIncident()
    {
        var detector = new IncidentDetector(Options());

        for (uint seq = 1; seq <= 5; seq++)
        {
            Assert.That(detector.Observe(Slow(seq, 120 * Ms), T0 + (seq * 11 * Second)), Is.Null);
        }
    }

    [Test]
    public void ForAlert_PathWithRecentSlowProbes_OpensOnTheirSegment()
    {
        var detector = new IncidentDetector(Options());
        detector.Observe(Slow(1, 120 * Ms), T0);

        var opened = detector.ForAlert("fabric-slow", "10.77.0.11", "10.77.0.12", T0 + Second);

        Assert.That((opened?.Reason, opened?.Segment.Kind), Is.EqualTo(("alert:fabric-slow", "fabric")));
        Assert.That(detector.ForAlert("other", "10.0.0.1", "10.0.0.2", T0 + Second), Is.Null);
    }

    [Test]
    public void Record_Cluster_VerdictWorstProbesAndWindowAroundTheSpike()
    {
        var candidate = new IncidentCandidate(new SegmentKey("fabric", "hv1/bond0", "hv2/eno1", "reply"), "slow-cluster", T0);
        candidate.Probes.Add(new IncidentProbe { Id = 1, FirstTsNs = T0, RttNs = 120 * Ms, CostNs = 120 * Ms });
        candidate.Probes.Add(new IncidentProbe { Id = 2, FirstTsNs = T0 + Second, RttNs = 130 * Ms, CostNs = 130 * Ms });

        var record = IncidentService.Record(candidate, new IncidentOptions());

        Assert.That(record.Verdict, Is.EqualTo("fabric, reply leg: 2 slow probes (worst 130.00 ms) between hv1/bond0 and hv2/eno1"));
        Assert.That(record.WorstProbes.Select(p => p.Id), Is.EqualTo(new long[] { 2, 1 }));
        Assert.That((record.WindowFromNs, record.WindowToNs), Is.EqualTo((T0 - (10 * Second), T0 + Second + (130 * Ms) + (2 * Second))));
        Assert.That(IncidentService.Targets(candidate.Segment).Select(t => (t.Node, t.Points.Single())), Is.EqualTo(new[] { ("hv1", "bond0"), ("hv2", "eno1") }));
    }
}
