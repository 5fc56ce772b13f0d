using HopCapture.Agent.Traffic;
using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;
using HopCapture.Tests.Packets;

namespace HopCapture.Tests.Traffic;

public class TrafficRecorderTests
{
    private const long Ms = 1_000_000;
    private const long Second = 1_000_000_000;
    private const long T0 = 1_764_547_200L * Second; // a whole second

    private static readonly byte[] s_bulk = Frames.Ethernet(0x0800, Frames.IPv4("10.77.0.3", "10.77.0.1", 17, Frames.Udp(5201, new byte[1200])));
    private static readonly byte[] s_ping = Frames.EthernetEcho(0, "10.77.0.12", "10.77.0.11", 7, 1);

    private static TrafficRecorder Recorder(int flows = 128, long sampleAbove = 0, int retentionSeconds = 60) =>
        new(new TrafficRecorderOptions(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(retentionSeconds), flows, sampleAbove));

    [Test]
    public void Query_BurstAmongPings_BucketsPerDirectionAndTopFlowByBytes()
    {
        var recorder = Recorder();
        for (var i = 0; i < 50; i++)
        {
            recorder.Record(T0 + (i * 20 * Ms), PacketDirection.Out, (uint)s_ping.Length, s_ping, LinkType.Ethernet);
        }

        for (var i = 0; i < 1000; i++)
        {
            recorder.Record(T0 + Second + (i * Ms), PacketDirection.In, (uint)s_bulk.Length, s_bulk, LinkType.Ethernet);
        }

        var window = recorder.Query(T0, T0 + (3 * Second), 5);

        Assert.That(window.InBytes, Is.EqualTo(1000L * s_bulk.Length));
        Assert.That(window.OutPackets, Is.EqualTo(50));
        Assert.That(window.Buckets.Where(b => b.InBytes > 0).Select(b => b.StartNs), Is.EqualTo(Enumerable.Range(10, 10).Select(i => T0 + (i * 100 * Ms))));
        Assert.That(window.Flows[0].Flow.DstPort, Is.EqualTo(5201));
        Assert.That(window.Flows[0].Bytes, Is.EqualTo(1000L * s_bulk.Length));
        Assert.That(window.Flows[0].Direction, Is.EqualTo(PacketDirection.In));
        Assert.That(window.Flows[1].Packets, Is.EqualTo(50));
    }

    [Test]
    public void Query_WindowBeforeTheBurst_SeesNoneOfIt()
    {
        var recorder = Recorder();
        recorder.Record(T0 + (5 * Second), PacketDirection.In, (uint)s_bulk.Length, s_bulk, LinkType.Ethernet);

        var window = recorder.Query(T0, T0 + (5 * Second), 5);

        Assert.That((window.InBytes, window.Flows.Count), Is.EqualTo((0L, 0)));
    }

    [Test]
    public void Record_MoreFlowsThanTheTableHolds_RestIsUnattributedNotLost()
    {
        var recorder = Recorder(flows: 8);
        var total = 0L;
        for (ushort port = 1; port <= 100; port++)
        {
            var frame = Frames.Ethernet(0x0800, Frames.IPv4("10.0.0.1", "10.0.0.2", 17, Frames.Udp(port, new byte[100])));
            recorder.Record(T0 + port, PacketDirection.In, (uint)frame.Length, frame, LinkType.Ethernet);
            total += frame.Length;
        }

        var window = recorder.Query(T0, T0 + Second, 1000);

        Assert.That(window.Flows, Has.Count.LessThanOrEqualTo(8));
        Assert.That(window.Flows.Sum(f => f.Bytes) + window.UnattributedBytes, Is.EqualTo(total));
        Assert.That(window.InBytes, Is.EqualTo(total));
    }

    [Test]
    public void Record_AboveTheSamplingRate_TotalsExactFlowsScaledEstimate()
    {
        var recorder = Recorder(sampleAbove: 1000);
        for (var second = 0; second < 2; second++)
        {
            for (var i = 0; i < 10_000; i++)
            {
                recorder.Record(T0 + (second * Second) + (i * 50_000), PacketDirection.In, (uint)s_bulk.Length, s_bulk, LinkType.Ethernet);
            }
        }

        var first = recorder.Query(T0, T0 + Second, 1);
        var second2 = recorder.Query(T0 + Second, T0 + (2 * Second), 1);

        Assert.That(first.SampleEvery, Is.EqualTo(1), "the first second has no rate before it");
        Assert.That(second2.SampleEvery, Is.EqualTo(10));
        Assert.That(second2.InPackets, Is.EqualTo(10_000), "totals are never sampled");
        Assert.That(second2.Flows[0].Bytes, Is.EqualTo(10_000L * s_bulk.Length).Within(1).Percent);
    }

    [Test]
    public void Record_OlderThanTheRetention_OverwrittenByNewer()
    {
        var recorder = Recorder(retentionSeconds: 10);
        recorder.Record(T0, PacketDirection.In, 100, s_bulk, LinkType.Ethernet);
        recorder.Record(T0 + (10 * Second), PacketDirection.In, 200, s_bulk, LinkType.Ethernet);

        Assert.That(recorder.Query(T0, T0 + Second, 5).InBytes, Is.Zero);
        Assert.That(recorder.Query(T0 + (10 * Second), T0 + (11 * Second), 5).InBytes, Is.EqualTo(200));
    }

    [Test]
    public void Record_SteadyState_AllocatesNothing()
    {
        var recorder = Recorder();
        recorder.Record(T0, PacketDirection.In, (uint)s_bulk.Length, s_bulk, LinkType.Ethernet);
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100_000; i++)
        {
            recorder.Record(T0 + (i * 10_000), i % 2 == 0 ? PacketDirection.In : PacketDirection.Out, (uint)s_bulk.Length, s_bulk, LinkType.Ethernet);
        }

        Assert.That(GC.GetAllocatedBytesForCurrentThread() - before, Is.Zero);
    }
}
