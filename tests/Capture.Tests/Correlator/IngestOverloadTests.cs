using HopCapture.Correlator.Ingest;
using HopCapture.Protos;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Tests.Correlator;

/// <summary>Ingest faster than the engine or the store (issue 12): agents are slowed down, nothing accepted is dropped or cut in two.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class IngestOverloadTests
{
    [Test]
    public async Task Engine_MoreProbesThanItHolds_HoldsIngestBackAndStoresEveryProbe()
    {
        const int Probes = 100;
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?>
        {
            ["Correlator:Engine:MaxInFlight"] = "30",
        });
        await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
        // Five batches of 20 answered probes at the guest; the engine holds 30 in flight.
        for (var batch = 0; batch < 5; batch++)
        {
            Assert.That((await agent.SendBatchAsync((ulong)batch + 1, Halves(batch, Report003.At("08.851499"), 0, Role.Guest))).Accepted, Is.EqualTo(40U));
        }

        var (listed, engine) = await StoredAsync(correlator, Probes);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Probes.Select(p => p.Key.IcmpSeq).Distinct().Count(), Is.EqualTo(Probes), "every probe once");
            Assert.That(listed.Probes.All(p => p.Answered), Is.True, "none cut short");
            Assert.That(engine.Evicted, Is.Zero, "the engine dropped nothing");
            Assert.That(engine.HeldBack, Is.GreaterThan(0UL), "batches waited for room");
            Assert.That(engine.InFlightCap, Is.EqualTo(30UL));
        });
    }

    [Test]
    public async Task Engine_FullOfProbesWaitingForABehindStream_TakesThatStreamsHalvesFirst()
    {
        const int Probes = 60;
        await using var correlator = await StartSmallEngineAsync();
        await using var guest = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
        await using var host = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("nc1"));
        // The guest's halves of 60 probes arrive first, in batches of 20 (the engine holds 25);
        // then the host's halves, which were captured earlier (its upload fell behind).
        var baseNs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        for (var batch = 0; batch < 3; batch++)
        {
            Assert.That((await guest.SendBatchAsync((ulong)batch + 1, Halves(batch, baseNs, 0, Role.Guest))).Accepted, Is.EqualTo(40U));
        }

        for (var batch = 0; batch < 3; batch++)
        {
            Assert.That((await host.SendBatchAsync((ulong)batch + 1, Halves(batch, baseNs - 3_000_000_000, 1, Role.Nic))).Accepted, Is.EqualTo(40U));
        }

        var (listed, engine) = await StoredAsync(correlator, Probes);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Probes, Has.Count.EqualTo(Probes), "no probe stored in parts");
            Assert.That(listed.Probes.Select(p => p.Points.Count), Is.All.EqualTo(2), "each probe has the guest's and the host's point");
            Assert.That(engine.Late, Is.Zero, "no half came after its probe was finalised");
            Assert.That(engine.Evicted, Is.Zero);
            Assert.That(engine.HeldBack, Is.GreaterThan(0UL), "the guest's later batches waited for room");
        });
    }

    [Test]
    public void Behind_MeasuredAgainstTheAgentsOwnLag_NotItsClock()
    {
        const long Second = 1_000_000_000;
        var now = 1_800_000_000L * Second;
        var ahead = new AgentState(Report003.HelloFor("vm_a"));
        var inSync = new AgentState(Report003.HelloFor("vm_b"));

        // A guest clock ten minutes ahead, and a synchronised one, each sending fresh batches.
        Assert.That(ahead.Behind(Batch(now + (600 * Second), 100_000_000), now), Is.EqualTo(100_000_000));
        Assert.That(inSync.Behind(Batch(now - (20 * 1_000_000), 100_000_000), now), Is.EqualTo(100_000_000));

        // Later the synchronised agent uploads a batch three seconds old (its spool after a stall).
        now += 10 * Second;
        var behind = (3 * Second) + 100_000_000 - 20_000_000;
        Assert.Multiple(() =>
        {
            Assert.That(ahead.Behind(Batch(now + (600 * Second), 100_000_000), now), Is.EqualTo(100_000_000), "ten minutes ahead is its normal");
            Assert.That(inSync.Behind(Batch(now - (3 * Second), 100_000_000), now), Is.EqualTo(behind), "three seconds behind its normal (its usual 20 ms lag taken off)");
            Assert.That(ahead.Behind([], now), Is.Zero);
        });
    }

    [Test]
    public async Task Engine_FullAndABatchMixesHalvesOfItsProbesWithNewOnes_TakesTheHalvesBeforeTheProbesSettle()
    {
        const int Probes = 40;
        await using var correlator = await StartSmallEngineAsync();
        await using var guest = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
        await using var host = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("nc1"));
        var baseNs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        // The guest's halves of probes 1-20 fill the engine to 20 of 25, complete: they settle
        // for a second. The host's one batch carries its halves of probes 1-40: 20 would join,
        // 20 would start probes there is no room for, so the batch waits.
        Assert.That((await guest.SendBatchAsync(1, Halves(0, baseNs, 0, Role.Guest))).Accepted, Is.EqualTo(40U));
        var mixed = Halves(0, baseNs - 3_000_000_000, 1, Role.Nic);
        mixed.AddRange(Halves(1, baseNs - 3_000_000_000, 1, Role.Nic));
        Assert.That((await host.SendBatchAsync(1, mixed)).Accepted, Is.EqualTo(80U));
        Assert.That((await guest.SendBatchAsync(2, Halves(1, baseNs, 0, Role.Guest))).Accepted, Is.EqualTo(40U));

        var (listed, engine) = await StoredAsync(correlator, Probes);
        Assert.Multiple(() =>
        {
            Assert.That(listed.Probes, Has.Count.EqualTo(Probes), "no probe stored in parts");
            Assert.That(listed.Probes.Select(p => p.Points.Count), Is.All.EqualTo(2), "each probe has the guest's and the host's point");
            Assert.That(engine.Late, Is.Zero, "the host's halves of probes 1-20 joined them before they settled");
            Assert.That(engine.Evicted, Is.Zero);
            Assert.That(engine.HeldBack, Is.GreaterThan(0UL), "the host's batch waited for room");
        });
    }

    /// <summary>
    /// A correlator whose engine holds 25 probes; a complete probe waits a second for more points
    /// (a half held back longer is cut off), an incomplete one five.
    /// </summary>
    private static Task<TestCorrelator> StartSmallEngineAsync() => TestCorrelator.StartAsync(overrides: new Dictionary<string, string?>
    {
        ["Correlator:Engine:MaxInFlight"] = "25",
        ["Correlator:Engine:Settle"] = "00:00:01",
        ["Correlator:Engine:ProbeTimeout"] = "00:00:05",
    });

    /// <summary>The stored probes once there are <paramref name="count"/>, and the engine's counters then.</summary>
    private static async Task<(ListProbesResponse Listed, EngineStats Engine)> StoredAsync(TestCorrelator correlator, int count)
    {
        var listed = await TestCorrelator.EventuallyAsync(
            async ct => await correlator.Query.ListProbesAsync(new ListProbesRequest { Limit = 1000 }, cancellationToken: ct),
            r => r.Probes.Count >= count,
            $"{count} stored probes");
        return (listed, (await correlator.Query.ListAgentsAsync(new ListAgentsRequest())).Engine);
    }

    /// <summary>One node's request and reply of 20 probes at its point, 1 ms apart from <paramref name="startNs"/>.</summary>
    private static List<Observation> Halves(int batch, long startNs, uint iface, Role role)
    {
        var list = new List<Observation>();
        for (var i = 0; i < 20; i++)
        {
            var seq = (uint)((batch * 20) + i + 1);
            var at = startNs + (seq * 1_000_000);
            var hostSide = role == Role.Nic;
            list.Add(Report003.Request(iface, at, Direction.Out, seq));
            list.Add(Report003.Reply(iface, at + (hostSide ? 120_000_000 : Report003.RoundTripNs), Direction.In, seq));
        }

        return list;
    }

    /// <summary>Two observations, <paramref name="spanNs"/> apart, the newer at <paramref name="newestNs"/>.</summary>
    private static EngineObservation[] Batch(long newestNs, long spanNs) =>
    [
        new(0, newestNs - spanNs, 1, 2, 1, 1, 0, HopCapture.Engine.Model.EchoType.Request, HopCapture.Engine.Model.PacketDirection.Out),
        new(0, newestNs, 1, 2, 1, 2, 0, HopCapture.Engine.Model.EchoType.Request, HopCapture.Engine.Model.PacketDirection.Out),
    ];
}
