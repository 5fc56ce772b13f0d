using HopCapture.Engine.Correlation;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Engine;

public class CorrelationEngineTests
{
    private const double Micro = 1_000; // ns per µs

    [Test]
    public void Finalize_Report003SixInterfaces_FabricHoldsTheProbe()
    {
        var lab = new EngineScenario();
        lab.Report003();

        var probe = lab.Single();

        Assert.Multiple(() =>
        {
            Assert.That(probe.Outcome, Is.EqualTo(ProbeOutcome.Answered));
            Assert.That(probe.Points.Select(lab.NodeOf), Is.EqualTo(new[]
            {
                "vm_a/eth0", "nc1/023471", "nc1/eth0", "nc2/eth0", "nc2/061606", "vm_b/eth0",
            }));
            Assert.That(probe.Segments.Select(s => s.Kind), Is.EqualTo(new[] { "vif", "nic", "fabric", "nic", "vif", "remote" }));
            Assert.That(probe.Segments.Select(s => s.CostNs / Micro), Is.EqualTo(new[] { 71, 34, 120_365, 31, 38, 15 }).Within(0.5));
            Assert.That(probe.Segments.All(s => s.CostNs >= 0), "no negative segment, whatever the guests' clocks say");
            Assert.That(probe.Verdict!.Value.Kind, Is.EqualTo("fabric"));
            Assert.That(probe.Verdict!.Value.CostNs / 1e6, Is.EqualTo(120.365).Within(0.001));
            Assert.That(probe.RoundTripNs / 1e6, Is.EqualTo(120.554).Within(0.001));
            Assert.That(probe.Segments.Sum(s => s.CostNs), Is.EqualTo(probe.RoundTripNs), "the costs add up to the sender's round trip");
        });
    }

    [Test]
    public void Finalize_Report003WithoutDirections_SameAttributionFromRoundTripOrder()
    {
        var lab = new EngineScenario(withDirections: false);
        lab.Report003();

        var probe = lab.Single();

        Assert.That(probe.Segments.Select(s => s.Kind), Is.EqualTo(new[] { "vif", "nic", "fabric", "nic", "vif", "remote" }));
    }

    [Test]
    public void Finalize_NoGuestAgents_RemoteSpansTheResponderSide()
    {
        var lab = new EngineScenario();
        lab.Report003(guests: false);

        var probe = lab.Single();

        Assert.Multiple(() =>
        {
            Assert.That(probe.Points, Has.Length.EqualTo(4));
            Assert.That(probe.Segments.Select(s => s.Kind), Is.EqualTo(new[] { "nic", "fabric", "nic", "vif+remote" }));
            Assert.That(probe.Verdict!.Value.Kind, Is.EqualTo("fabric"));
            Assert.That(probe.RoundTripNs / 1e6, Is.EqualTo(120.483).Within(0.001));
        });
    }

    [Test]
    public void Finalize_NoPhysicalNicPoints_SegmentSaysWhatItSpans()
    {
        var lab = new EngineScenario();
        lab.Report003(nics: false);

        var probe = lab.Single();

        Assert.Multiple(() =>
        {
            Assert.That(probe.Segments.Select(s => s.Kind), Is.EqualTo(new[] { "vif", "nic+fabric+nic", "vif", "remote" }));
            Assert.That(probe.Verdict!.Value.Kind, Is.EqualTo("nic+fabric+nic"));
            Assert.That(probe.Verdict!.Value.CostNs / 1e6, Is.EqualTo(120.483 - 0.053).Within(0.001));
        });
    }

    [Test]
    public void Add_DuplicateObservations_CountedAndIgnored()
    {
        var lab = new EngineScenario();
        lab.Report003();
        lab.Request(lab.NicA, "08.850991");
        lab.Reply(lab.NicB, "08.851300");

        var probe = lab.Single();

        Assert.Multiple(() =>
        {
            Assert.That(lab.Engine.Counters.Duplicates, Is.EqualTo(2));
            Assert.That(probe.Duplicates, Is.EqualTo(2));
            Assert.That(probe.Verdict!.Value.CostNs / 1e6, Is.EqualTo(120.365).Within(0.001), "the first copy wins");
        });
    }

    [Test]
    public void Add_IcmpIdReusedWithOtherPayload_TwoProbes()
    {
        var lab = new EngineScenario();
        lab.Report003(hash: 1);
        lab.Report003(hash: 2);

        var results = lab.AdvanceBy(TimeSpan.FromSeconds(10));

        Assert.That(results.Select(r => r.Key.PayloadHash), Is.EquivalentTo(new uint[] { 1, 2 }));
        Assert.That(results.All(r => r.Points.Length == 6 && r.Duplicates == 0));
    }

    [Test]
    public void Add_SequenceWrapsPast65535_ProbesStayApart()
    {
        var lab = new EngineScenario();
        lab.Report003(seq: 65535, hash: 10);
        lab.Report003(seq: 0, hash: 11);
        lab.Report003(seq: 65535, hash: 12); // the wrapped-around twin of the first

        var results = lab.AdvanceBy(TimeSpan.FromSeconds(10));

        Assert.That(results, Has.Count.EqualTo(3));
        Assert.That(results.Select(r => (r.Key.IcmpSeq, r.Key.PayloadHash)),
            Is.EquivalentTo(new[] { ((ushort)65535, 10u), ((ushort)0, 11u), ((ushort)65535, 12u) }));
        Assert.That(lab.Engine.Counters.Duplicates, Is.Zero);
    }

    private static readonly EngineOptions SettleOneSecond = new() { Settle = TimeSpan.FromSeconds(1), ProbeTimeout = TimeSpan.FromSeconds(5) };

    /// <summary>Probe 1 teaches the path's points; a probe timeout later they count as stable.</summary>
    private static EngineScenario WithStablePath()
    {
        var lab = new EngineScenario(SettleOneSecond);
        lab.Report003(seq: 1);
        Assert.That(lab.AdvanceBy(TimeSpan.FromSeconds(6)), Has.Count.EqualTo(1));
        return lab;
    }

    [Test]
    public void Advance_FirstProbesOfAPath_WaitForSettle()
    {
        var lab = new EngineScenario(SettleOneSecond);
        lab.Report003();

        var early = lab.AdvanceBy(TimeSpan.FromMilliseconds(900));
        var settled = lab.AdvanceBy(TimeSpan.FromMilliseconds(200));

        Assert.That(early, Is.Empty, "while agents are still joining nobody knows how many points the path has");
        Assert.That(settled, Has.Count.EqualTo(1));
    }

    [Test]
    public void Advance_CompleteWithEveryPointOfAStablePath_FinalisesAtOnce()
    {
        var lab = WithStablePath();
        lab.Report003(seq: 2);

        var results = lab.AdvanceBy(TimeSpan.Zero);

        Assert.That(results.Single().Points, Has.Length.EqualTo(6), "no point of this path is missing, so nothing is left to wait for");
        Assert.That(lab.Engine.InFlight, Is.Zero);
    }

    [Test]
    public void Advance_CompleteButMissingAPointThePathHas_WaitsForSettle()
    {
        var lab = WithStablePath();
        lab.Report003(seq: 2, guests: false);

        var early = lab.AdvanceBy(TimeSpan.FromMilliseconds(900));
        var settled = lab.AdvanceBy(TimeSpan.FromMilliseconds(200));

        Assert.That(early, Is.Empty);
        Assert.That(settled.Single().Points, Has.Length.EqualTo(4));
    }

    [Test]
    public void Advance_APointsReplyCameButNotItsRequest_WaitsForTheRequest()
    {
        // An agent captures each direction on its own handle and uploads them independently: a
        // node's reply can reach the engine before its request. With every point of the path
        // present the probe used to finalise at once, stored with that request missing.
        var lab = WithStablePath();
        lab.Report003(seq: 2, nics: false);
        lab.Request(lab.NicA, "08.850991", seq: 2);
        lab.Reply(lab.NicA, "08.971440", seq: 2);
        lab.Reply(lab.NicB, "08.851255", seq: 2);

        var early = lab.AdvanceBy(TimeSpan.FromMilliseconds(300));
        lab.Request(lab.NicB, "08.851171", seq: 2);
        var probe = lab.AdvanceBy(TimeSpan.Zero).Single();

        Assert.Multiple(() =>
        {
            Assert.That(early, Is.Empty, "nc2 has seen this path's requests before: its request is still to come");
            Assert.That(probe.Points, Has.Length.EqualTo(6));
            Assert.That(probe.Points.All(p => p.HasRoundTrip), Is.True, "every point has both halves");
        });
    }

    [Test]
    public void Advance_LateAgentJoinsBeforeSettle_ProbeHasAllPoints()
    {
        var lab = WithStablePath();
        lab.Report003(seq: 2, guests: false);
        lab.AdvanceBy(TimeSpan.FromMilliseconds(700));
        lab.Request(lab.GuestA, "08.851499", seq: 2);
        lab.Reply(lab.GuestA, "08.972053", seq: 2);

        Assert.That(lab.AdvanceBy(TimeSpan.FromMilliseconds(700)), Is.Empty, "the late point restarts the settle wait");
        var probe = lab.Single(TimeSpan.FromMilliseconds(400));

        Assert.That(probe.Points, Has.Length.EqualTo(5));
    }

    [Test]
    public void Advance_AgentLaggingBehind_ItsLatePointsMakeLaterProbesWait()
    {
        // vm_a alone has reported when probes 1 and 2 settle; the host's agent is behind.
        var lab = new EngineScenario(SettleOneSecond);
        lab.Request(lab.GuestA, "08.851499", seq: 1);
        lab.Reply(lab.GuestA, "08.972053", seq: 1);
        var partial = lab.AdvanceBy(TimeSpan.FromSeconds(6));

        // Its late observation of probe 1 teaches the engine the path has another point, so a
        // probe complete without it is not final at once, even once the path looked stable.
        lab.Request(lab.VifA, "08.850975", seq: 1);
        lab.AdvanceBy(TimeSpan.FromSeconds(6));
        lab.Request(lab.GuestA, "10.851499", seq: 3);
        lab.Reply(lab.GuestA, "10.972053", seq: 3);
        var waiting = lab.AdvanceBy(TimeSpan.FromMilliseconds(500));
        lab.Request(lab.VifA, "10.850975", seq: 3);
        lab.Reply(lab.VifA, "10.971458", seq: 3);
        var joined = lab.AdvanceBy(TimeSpan.Zero);

        Assert.Multiple(() =>
        {
            Assert.That(partial.Single().Points, Has.Length.EqualTo(1), "nothing else was known when it settled");
            Assert.That(lab.Engine.Counters.Late, Is.EqualTo(1));
            Assert.That(waiting, Is.Empty, "probe 3 waits for the vif point seen late on probe 1");
            Assert.That(joined.Single().Points, Has.Length.EqualTo(2));
        });
    }

    [Test]
    public void Advance_CompleteProbeGrowsOverManyTurns_OneSettlingEntryAndTheLastPointDecides()
    {
        var lab = new EngineScenario(SettleOneSecond);
        lab.Request(lab.GuestA, "08.851499");
        lab.Reply(lab.GuestA, "08.972053");
        var pointsAfterTheFirst = new[] { lab.VifA, lab.NicA, lab.NicB, lab.VifB };
        var turns = new List<List<ProbeResult>>();
        foreach (var iface in pointsAfterTheFirst)
        {
            // Each agent's batch arrives 300 ms after the last: the probe stays complete and its
            // settle wait restarts, but it keeps one entry in the engine's settling queue.
            turns.Add(lab.AdvanceBy(TimeSpan.FromMilliseconds(300)));
            lab.Request(iface, "08.851000");
            lab.Reply(iface, "08.971000");
        }

        var entries = lab.Engine.SettlingEntries;
        var early = lab.AdvanceBy(TimeSpan.FromMilliseconds(900));
        var settled = lab.AdvanceBy(TimeSpan.FromMilliseconds(200));

        Assert.Multiple(() =>
        {
            Assert.That(entries, Is.EqualTo(1), "one entry per probe, however many batches moved its due time");
            Assert.That(turns.SelectMany(t => t), Is.Empty, "the first point's settle time passed, but later points moved it on");
            Assert.That(early, Is.Empty, "due a second after the last point arrived");
            Assert.That(settled.Single().Points, Has.Length.EqualTo(5));
            Assert.That(lab.Engine.SettlingEntries, Is.Zero);
        });
    }

    [Test]
    public void Add_AfterFinalised_CountedLateWithoutNewProbe()
    {
        var lab = new EngineScenario();
        lab.Report003();
        lab.Single();

        lab.Reply(lab.GuestA, "08.972053");
        var later = lab.AdvanceBy(TimeSpan.FromSeconds(10));

        Assert.That(later, Is.Empty);
        Assert.That(lab.Engine.Counters.Late, Is.EqualTo(1));
    }

    [Test]
    public void Add_BeyondInFlightCap_OldestEvictedAndCounted()
    {
        var lab = new EngineScenario(new EngineOptions { MaxInFlight = 2 });
        lab.Request(lab.GuestA, "08.000000", seq: 1);
        lab.Request(lab.GuestA, "09.000000", seq: 2);
        lab.Request(lab.GuestA, "10.000000", seq: 3);

        var results = lab.AdvanceBy(TimeSpan.FromSeconds(10));

        Assert.That(lab.Engine.Counters.Evicted, Is.EqualTo(1));
        Assert.That(results.Select(r => (int)r.Key.IcmpSeq), Is.EquivalentTo(new[] { 2, 3 }));
    }

    [Test]
    public void Advance_RequestVanishesInFabric_LostInFabric()
    {
        var lab = new EngineScenario();
        lab.Report003(seq: 1); // teaches the engine the path
        lab.Single();
        lab.Request(lab.GuestA, "09.851499", seq: 2);
        lab.Request(lab.VifA, "09.850975", seq: 2);
        lab.Request(lab.NicA, "09.850991", seq: 2);

        var probe = lab.Single();

        Assert.Multiple(() =>
        {
            Assert.That(probe.Outcome, Is.EqualTo(ProbeOutcome.RequestLost));
            Assert.That(probe.LostIn, Is.EqualTo("fabric"));
            Assert.That(probe.Points.Select(lab.NodeOf), Is.EqualTo(new[] { "vm_a/eth0", "nc1/023471", "nc1/eth0" }));
        });
    }

    [Test]
    public void Advance_ReplyNeverReachesSenderHost_ReplyLostInFabric()
    {
        var lab = new EngineScenario();
        lab.Request(lab.GuestA, "08.851499");
        lab.Request(lab.VifA, "08.850975");
        lab.Request(lab.NicA, "08.850991");
        lab.Request(lab.NicB, "08.851171");
        lab.Reply(lab.NicB, "08.851255");
        lab.Request(lab.VifB, "08.851188");
        lab.Reply(lab.VifB, "08.851241");
        lab.Request(lab.GuestB, "08.850831");
        lab.Reply(lab.GuestB, "08.850846");

        var probe = lab.Single();

        Assert.Multiple(() =>
        {
            Assert.That(probe.Outcome, Is.EqualTo(ProbeOutcome.ReplyLost));
            Assert.That(probe.LostIn, Is.EqualTo("fabric"));
            Assert.That(probe.Answered, Is.False);
            Assert.That(probe.Points.Select(lab.NodeOf).First(), Is.EqualTo("vm_a/eth0"));
        });
    }

    [Test]
    public void Advance_ResponderSilent_LostAtRemote()
    {
        var lab = new EngineScenario();
        lab.Request(lab.GuestA, "08.851499");
        lab.Request(lab.VifA, "08.850975");
        lab.Request(lab.NicA, "08.850991");
        lab.Request(lab.NicB, "08.851171");
        lab.Request(lab.VifB, "08.851188");
        lab.Request(lab.GuestB, "08.850831");

        var probe = lab.Single();

        Assert.That(probe.Outcome, Is.EqualTo(ProbeOutcome.RequestLost));
        Assert.That(probe.LostIn, Is.EqualTo("remote"));
    }

    [Test]
    public void Add_BondSlavesCarryDifferentLegs_OneLogicalPoint()
    {
        var catalog = new InterfaceCatalog();
        var engine = new CorrelationEngine(new EngineOptions(), catalog);
        var guest = catalog.Register("vm1", "eth0", null, PointRole.Guest).Id;
        var slave1 = catalog.Register("hv1", "eno1", "bond0", PointRole.Nic).Id;
        var slave2 = catalog.Register("hv1", "eno2", "bond0", PointRole.Nic).Id;
        var peer = catalog.Register("hv2", "eno1", null, PointRole.Nic).Id;
        var src = IpAddress128.FromBytes([10, 0, 0, 1]);
        var dst = IpAddress128.FromBytes([10, 0, 0, 2]);
        void Add(int iface, long us, EchoType type, PacketDirection direction) => engine.Add(
            new Observation(iface, us * 1000, type == EchoType.Request ? src : dst, type == EchoType.Request ? dst : src, 7, 1, 5, type, direction), 0);
        Add(guest, 1000, EchoType.Request, PacketDirection.Out);
        Add(slave1, 1010, EchoType.Request, PacketDirection.Out);
        Add(peer, 1050, EchoType.Request, PacketDirection.In);
        Add(peer, 1060, EchoType.Reply, PacketDirection.Out);
        Add(slave2, 5100, EchoType.Reply, PacketDirection.In);
        Add(guest, 5120, EchoType.Reply, PacketDirection.In);

        var results = new List<ProbeResult>();
        engine.Advance(10_000_000_000, results);

        var bond = results.Single().Points[1];
        Assert.Multiple(() =>
        {
            Assert.That(results.Single().Points, Has.Length.EqualTo(3));
            Assert.That(catalog.Point(bond.PointId).Point, Is.EqualTo("bond0"));
            Assert.That(catalog.Interface(bond.RequestIface).Iface, Is.EqualTo("eno1"));
            Assert.That(catalog.Interface(bond.ReplyIface).Iface, Is.EqualTo("eno2"));
            Assert.That(results.Single().Verdict!.Value.Kind, Is.EqualTo("fabric"));
        });
    }

    [Test]
    public void Finalize_AllSegmentsTiny_VerdictFlaggedWithinNoise()
    {
        var lab = new EngineScenario();
        lab.Request(lab.NicA, "08.000000");
        lab.Reply(lab.NicA, "08.000012");
        lab.Request(lab.NicB, "08.000003");
        lab.Reply(lab.NicB, "08.000008");

        var probe = lab.Single();

        Assert.That(probe.Verdict!.Value.WithinNoise, Is.True);
        Assert.That(probe.Segments.All(s => s.WithinNoise));
    }

    [Test]
    public void Add_UnknownInterfaceId_CountedAndIgnored()
    {
        var lab = new EngineScenario();

        lab.Engine.Add(new Observation(999, 1, EngineScenario.VmA, EngineScenario.VmB, 1, 1, 1, EchoType.Request, PacketDirection.Out), 0);

        Assert.That(lab.Engine.Counters.UnknownInterface, Is.EqualTo(1));
        Assert.That(lab.Engine.InFlight, Is.Zero);
    }

    [Test]
    public void Flush_IncompleteProbes_AllFinalised()
    {
        var lab = new EngineScenario();
        lab.Report003(seq: 1);
        lab.Request(lab.GuestA, "09.000000", seq: 2);

        var results = new List<ProbeResult>();
        lab.Engine.Flush(results);

        Assert.That(results, Has.Count.EqualTo(2));
        Assert.That(lab.Engine.InFlight, Is.Zero);
    }
}
