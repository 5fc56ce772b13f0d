using HopCapture.Correlator.Ingest;
using HopCapture.IngestClient;
using HopCapture.Protos;
using HopCapture.Tests.Contracts;
using HopCapture.Tests.IngestClient;
using HopCapture.Tests.Support;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Tests.Correlator;

/// <summary>ObservationBatch.packed through the real correlator, and the session's fallback for one that does not accept it.</summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class PackedIngestTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>As the agent holds them: Iface is the Hello index.</summary>
    private static EngineObservation[] AsEngine(IEnumerable<Observation> observations) =>
    [
        .. observations.Select(o => ObservationValidator.TryConvert(o, [0, 1], out var converted, out var problem)
            ? converted
            : throw new ArgumentException(problem, nameof(observations))),
    ];

    private static ObservationBatch PackedBatch(ulong seq, IEnumerable<Observation> observations) =>
        new() { Seq = seq, Packed = PackedObservationsTests.Pack(AsEngine(observations)) };

    /// <summary>What a stored probe says, without what differs between two sends of it (store id, icmp seq, arrival).</summary>
    private static async Task<ProbeRecord> StoredAsync(TestCorrelator correlator, long id)
    {
        var record = await correlator.Query.GetProbeAsync(new GetProbeRequest { Id = id }, deadline: CorrelatorIngestTests.Deadline());
        record.Id = 0;
        record.Key.IcmpSeq = 0;
        record.ArrivalNs = 0;
        return record;
    }

    [Test]
    public async Task Connect_PackedBatches_StoreTheSameProbeAsRepeated()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        await Report003.SendAllAsync(correlator, seq: 110);
        foreach (var (node, _) in Report003.Nodes)
        {
            await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor(node));
            var observations = Report003.ObservationsFor(node, seq: 111);
            var ack = await agent.SendBatchAsync(PackedBatch(1, observations));
            Assert.That(agent.Welcome.AcceptsPacked, Is.True, "a correlator accepts packed by default");
            Assert.That((ack.Accepted, ack.Rejected), Is.EqualTo(((uint)observations.Count, 0U)), ack.RejectReason);
        }

        var listed = await CorrelatorIngestTests.WaitForProbesAsync(correlator, 2);
        var repeated = listed.Probes.Single(p => p.Key.IcmpSeq == 110);
        var packed = listed.Probes.Single(p => p.Key.IcmpSeq == 111);
        var fromRepeated = await StoredAsync(correlator, repeated.Id);
        var fromPacked = await StoredAsync(correlator, packed.Id);
        Assert.Multiple(() =>
        {
            Assert.That(fromPacked.Points, Has.Count.EqualTo(6));
            Assert.That(fromPacked.Verdict.Kind, Is.EqualTo("fabric"));
            Assert.That(fromPacked, Is.EqualTo(fromRepeated));
        });
    }

    [Test]
    public async Task Connect_MalformedPacked_RejectedWithItsReasonRestAccepted()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("nc1"));

        // Torn: one repeated observation, then two records and 3 stray bytes.
        var torn = PackedBatch(1, Report003.ObservationsFor("nc1", seq: 201).Skip(1).Take(2));
        torn.Observations.Add(Report003.ObservationsFor("nc1", seq: 201)[0]);
        torn.Packed = Google.Protobuf.ByteString.CopyFrom([.. torn.Packed.ToByteArray(), 1, 2, 3]);
        var tornAck = await agent.SendBatchAsync(torn);

        // Record 2 names interface 5 of a Hello that lists 2.
        var badIface = PackedBatch(2, Report003.ObservationsFor("nc1", seq: 202));
        var bytes = badIface.Packed.ToByteArray();
        bytes[2 * 52] = 5;
        badIface.Packed = Google.Protobuf.ByteString.CopyFrom(bytes);
        var badIfaceAck = await agent.SendBatchAsync(badIface);

        // One repeated, then packed records whose second has no type: observation 2 of the batch.
        var observations = Report003.ObservationsFor("nc1", seq: 203);
        var badType = PackedBatch(3, observations.Skip(1));
        badType.Observations.Add(observations[0]);
        bytes = badType.Packed.ToByteArray();
        bytes[52 + 50] = 0;
        badType.Packed = Google.Protobuf.ByteString.CopyFrom(bytes);
        var badTypeAck = await agent.SendBatchAsync(badType);

        Assert.Multiple(() =>
        {
            Assert.That((tornAck.Accepted, tornAck.Rejected), Is.EqualTo((1U, 3U)), "the repeated one stays; two records and the torn tail go");
            Assert.That(tornAck.RejectReason, Is.EqualTo("observations 1 on: packed is 107 bytes, not a multiple of 52"));
            Assert.That((badIfaceAck.Accepted, badIfaceAck.Rejected), Is.EqualTo((3U, 1U)));
            Assert.That(badIfaceAck.RejectReason, Is.EqualTo("observation 2: iface 5 is out of range (the Hello lists 2 interfaces)"));
            Assert.That((badTypeAck.Accepted, badTypeAck.Rejected), Is.EqualTo((3U, 1U)));
            Assert.That(badTypeAck.RejectReason, Is.EqualTo("observation 2: type is not set (request or reply)"));
        });
        await TestCorrelator.EventuallyAsync(
            async ct => await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: ct),
            r => r.Engine.Observations == 7,
            "the 7 accepted observations in the engine");
    }

    [Test]
    public async Task RunAsync_CorrelatorNotAcceptingPacked_SessionSendsThemRepeated()
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?> { ["Correlator:AcceptPacked"] = "false" });
        Ack refused;
        await using (var raw = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_b")))
        {
            Assert.That(raw.Welcome.AcceptsPacked, Is.False);
            refused = await raw.SendBatchAsync(PackedBatch(1, Report003.ObservationsFor("vm_b")));
        }

        var source = new ListBatchSource();
        source.Seal(seq => PackedBatch(seq, Report003.ObservationsFor("nc1", seq: 301)));
        source.Seal(seq =>
        {
            var mixed = PackedBatch(seq, Report003.ObservationsFor("nc1", seq: 302).Skip(1));
            mixed.Observations.Add(Report003.ObservationsFor("nc1", seq: 302)[0]);
            return mixed;
        });
        source.Complete();
        var hello = Report003.HelloFor("nc1");
        var recorder = new IngestSessionTests.Recorder();
        var session = new IngestSession(correlator.Ingest, source, next => new Hello(hello) { NextSeq = next }, observer: recorder);

        await session.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That((refused.Accepted, refused.Rejected), Is.EqualTo((0U, 2U)), "sent packed anyway, it is refused: only the session's conversion gets them in");
            Assert.That(refused.RejectReason, Is.EqualTo("observations 0 on: packed observations are not accepted here (Correlator:AcceptPacked is false)"));
            Assert.That(recorder.Acks.Select(a => (a.Seq, a.Accepted, a.Rejected)), Is.EqualTo(new[] { (1UL, 4U, 0U), (2UL, 4U, 0U) }));
        });
    }
}
