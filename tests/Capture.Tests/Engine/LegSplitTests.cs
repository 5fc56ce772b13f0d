using HopCapture.Engine.Correlation;
using HopCapture.Engine.Direction;

namespace HopCapture.Tests.Engine;

public class LegSplitTests
{
    private const long FabricReplyDelayNs = 120_000_000;
    private const long VifRequestDelayNs = 30_000_000;
    private const int Probes = 120;

    private static bool SlowFabricReply(int probe) => probe % 10 == 3;

    private static bool SlowVifRequest(int probe) => probe % 10 == 7;

    /// <summary>Idle hops, plus bursts: the fabric on the reply leg, the sender's virtio hop on the request leg.</summary>
    private static long Bursty(int probe, int hop, bool request) =>
        TimedPath.Idle(probe, hop, request)
        + (hop == 2 && !request && SlowFabricReply(probe) ? FabricReplyDelayNs : 0)
        + (hop == 0 && request && SlowVifRequest(probe) ? VifRequestDelayNs : 0);

    private static List<ProbeResult> Run(Func<string, int, long> clocks) =>
        new TimedPath { HopDelayNs = Bursty, ClockOffsetNs = clocks }.Run(Probes);

    [TestCase("vm_b", 5_000_000L)]
    [TestCase("vm_b", -5_000_000L)]
    [TestCase("nc2", 500_000_000L)]
    [TestCase("nc2", -500_000_000L)]
    [TestCase("vm_a", 500_000_000L)]
    [TestCase("vm_a", -5_000_000L)]
    public void Split_NodeClockShifted_SameCostsAndLegs(string node, long shiftNs)
    {
        var reference = Run(static (_, _) => 0);
        var shifted = Run((n, _) => n == node ? shiftNs : 0);

        Assert.Multiple(() =>
        {
            Assert.That(shifted, Has.Count.EqualTo(Probes));
            for (var k = 0; k < Probes; k++)
            {
                Assert.That(shifted[k].Segments.Select(s => (s.Kind, s.CostNs)), Is.EqualTo(reference[k].Segments.Select(s => (s.Kind, s.CostNs))),
                    $"probe {k}: segment costs");
                Assert.That(shifted[k].Segments.Select(s => s.Split.Leg), Is.EqualTo(reference[k].Segments.Select(s => s.Split.Leg)),
                    $"probe {k}: leg verdicts");
            }
        });
    }

    [Test]
    public void Split_ShiftedClocks_FabricReplyAndVifRequestWithSmallUncertainty()
    {
        var results = Run(static (node, _) => node switch { "vm_a" => -520_000, "nc2" => 180_000_000, "vm_b" => -340_000, _ => 0 });

        var settled = results.Skip(20).ToList();
        var fabric = settled.Where(p => SlowFabricReply((int)p.Key.IcmpSeq - 1)).Select(p => p.Verdict!.Value).ToList();
        var vif = settled.Where(p => SlowVifRequest((int)p.Key.IcmpSeq - 1)).Select(p => p.Verdict!.Value).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(fabric.Select(s => (s.Kind, s.Split.Leg)), Is.All.EqualTo(("fabric", SegmentLeg.Reply)));
            Assert.That(fabric.Select(s => s.Split.ReplyNs / 1e6), Is.All.EqualTo(120.03).Within(0.02));
            Assert.That(fabric.Select(s => s.Split.UncertaintyNs / 1e3), Is.All.LessThan(40), "µs: half the cheapest fabric round trip");
            Assert.That(vif.Select(s => (s.Kind, s.Split.Leg)), Is.All.EqualTo(("vif", SegmentLeg.Request)));
            Assert.That(vif.Select(s => s.Split.RequestNs / 1e6), Is.All.EqualTo(30.03).Within(0.02));
            Assert.That(results.SelectMany(p => p.Segments).Select(s => Math.Min(s.Split.RequestNs, s.Split.ReplyNs)), Is.All.GreaterThanOrEqualTo(0),
                "no one-way time is ever negative");
        });
    }

    [Test]
    public void Split_FirstProbes_LegUnknownUntilTheOffsetIsKnown()
    {
        // Probe 1 is slow while the estimate has only two samples; probe 4 is just as slow after it.
        var path = new TimedPath
        {
            HopDelayNs = static (k, hop, request) => TimedPath.Idle(k, hop, request) + (hop == 2 && !request && k is 1 or 4 ? FabricReplyDelayNs : 0),
            ClockOffsetNs = static (node, _) => node == "nc2" ? 3_000_000 : 0,
        };

        var results = path.Run(6);

        Assert.Multiple(() =>
        {
            Assert.That(results[1].Verdict!.Value.Split.Leg, Is.EqualTo(SegmentLeg.Unknown));
            Assert.That(results[4].Verdict!.Value.Split.Leg, Is.EqualTo(SegmentLeg.Reply));
            // Same-node segments need no estimate: one clock, exact from the first probe.
            Assert.That(results[0].Segments.Single(s => s.Kind == "nic" && s.From == 1).Split.UncertaintyNs, Is.Zero);
        });
    }

    [TestCase(500_000_000L)]
    [TestCase(-5_000_000L)]
    public void Split_ClockStepMidRun_RecoversWithoutPoisoningLaterProbes(long stepNs)
    {
        const int stepAt = 60;
        var reference = Run(static (_, _) => 0);
        var stepped = new TimedPath { HopDelayNs = Bursty, ClockOffsetNs = (node, k) => node == "nc2" && k >= stepAt ? stepNs : 0 };
        var results = stepped.Run(Probes);

        var fabric = stepped.Lab.Engine.Offsets.Snapshot().Single(p => stepped.Lab.Catalog.Point(p.NearPointId).Node == "nc1"
                                                                     && stepped.Lab.Catalog.Point(p.FarPointId).Node == "nc2");
        Assert.Multiple(() =>
        {
            for (var k = 0; k < Probes; k++)
            {
                var legs = results[k].Segments.Select(s => s.Split.Leg).ToList();
                var expected = reference[k].Segments.Select(s => s.Split.Leg).ToList();
                if (k is >= stepAt and < stepAt + ClockOffsetEstimator.StepConfirm - 1)
                {
                    // While the step is being confirmed the split says it does not know; it never guesses.
                    Assert.That(legs[2], Is.EqualTo(SegmentLeg.Unknown), $"probe {k} during the step");
                }
                else
                {
                    Assert.That(legs, Is.EqualTo(expected), $"probe {k}");
                }
            }

            Assert.That(fabric.Steps, Is.EqualTo(1));
            Assert.That(fabric.LastStepNs / 1e6, Is.EqualTo(stepNs / 1e6).Within(0.05));
            Assert.That(fabric.Estimate.OffsetNs / 1e6, Is.EqualTo(stepNs / 1e6).Within(0.05));
        });
    }

    [Test]
    public void Observe_OneOutlierThenBack_NoStepAndEstimateKept()
    {
        var estimator = new ClockOffsetEstimator(20_000);
        for (var k = 0; k < 10; k++)
        {
            estimator.Observe(k * 100_000_000L, 1_000_000 + 30_000, 30_000 - 1_000_000);
        }

        var during = estimator.Observe(1_000_000_000, 9_000_000 + 30_000, 30_000 - 9_000_000);
        var after = estimator.Observe(1_100_000_000, 1_000_000 + 30_000, 30_000 - 1_000_000);

        Assert.Multiple(() =>
        {
            Assert.That(during.State, Is.EqualTo(OffsetState.StepSuspected));
            Assert.That(after.State, Is.EqualTo(OffsetState.Locked));
            Assert.That(after.OffsetNs, Is.EqualTo(1_000_000));
            Assert.That(estimator.Steps, Is.Zero);
        });
    }

    [Test]
    public void Of_OffsetPutsALegBelowZero_ClampedNeverNegative()
    {
        var split = LegSplit.Of(dRequestNs: 10_000, dReplyNs: 90_000, new OffsetEstimate(15_000, 2_000, OffsetState.Locked, 10));

        Assert.Multiple(() =>
        {
            Assert.That((split.RequestNs, split.ReplyNs), Is.EqualTo((0L, 100_000L)));
            Assert.That(split.Clamped, Is.True);
            Assert.That(split.Leg, Is.EqualTo(SegmentLeg.Reply));
        });
    }

    [Test]
    public void Of_UncertaintyAsWideAsTheCost_Unknown()
    {
        var split = LegSplit.Of(60_000, 40_000, new OffsetEstimate(0, 30_000, OffsetState.Locked, 10));

        Assert.That(split.Leg, Is.EqualTo(SegmentLeg.Unknown));
    }
}
