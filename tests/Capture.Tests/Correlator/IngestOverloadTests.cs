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
            var observations = new List<Observation>();
            for (var i = 0; i < 20; i++)
            {
                var seq = (uint)((batch * 20) + i + 1);
                var at = Report003.At("08.851499") + (seq * 1_000_000);
                observations.Add(Report003.Request(0, at, Direction.Out, seq));
                observations.Add(Report003.Reply(0, at + Report003.RoundTripNs, Direction.In, seq));
            }

            var ack = await agent.SendBatchAsync((ulong)batch + 1, observations);
            Assert.That(ack.Accepted, Is.EqualTo(40U));
        }

        var listed = await TestCorrelator.EventuallyAsync(
            async ct => await correlator.Query.ListProbesAsync(new ListProbesRequest { Limit = 1000 }, cancellationToken: ct),
            r => r.Probes.Count >= Probes,
            $"{Probes} stored probes");
        var engine = (await correlator.Query.ListAgentsAsync(new ListAgentsRequest())).Engine;
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
        Assert.Multiple(() =>
        {
            Assert.That(ahead.Behind(Batch(now + (600 * Second), 100_000_000), now), Is.EqualTo(100_000_000), "ten minutes ahead is its normal");
            Assert.That(inSync.Behind(Batch(now - (3 * Second), 100_000_000), now), Is.EqualTo((3 * Second) + 100_000_000 - 20_000_000), "three seconds behind its normal (its usual 20 ms lag taken off)");
            Assert.That(ahead.Behind([], now), Is.Zero);
        });
    }

    /// <summary>Two observations, <paramref name="spanNs"/> apart, the newer at <paramref name="newestNs"/>.</summary>
    private static EngineObservation[] Batch(long newestNs, long spanNs) =>
    [
        new(0, newestNs - spanNs, 1, 2, 1, 1, 0, HopCapture.Engine.Model.EchoType.Request, HopCapture.Engine.Model.PacketDirection.Out),
        new(0, newestNs, 1, 2, 1, 2, 0, HopCapture.Engine.Model.EchoType.Request, HopCapture.Engine.Model.PacketDirection.Out),
    ];
}
