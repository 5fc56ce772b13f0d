using System.Diagnostics;
using Grpc.Core;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator;

/// <summary>Hostile ingest (issue 11): an oversized message and a flooding agent hurt only themselves.</summary>
[TestFixture]
[CancelAfter(90_000)]
public sealed class IngestLimitsTests
{
    private static List<Observation> Batch(int observations, uint firstSeq)
    {
        var list = new List<Observation>(observations);
        for (var i = 0; i < observations; i++)
        {
            list.Add(Report003.Request(0, Report003.At("08.851499") + i, Direction.Out, (firstSeq + (uint)i) & 0xFFFF));
        }

        return list;
    }

    [Test]
    public async Task Batch_LargerThanMaxMessageBytes_StreamRefusedOthersUnaffected()
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?> { ["Correlator:MaxMessageBytes"] = "65536" });
        await using var quiet = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
        using var big = correlator.Ingest.Connect(deadline: DateTime.UtcNow.AddMinutes(1));
        await big.RequestStream.WriteAsync(new AgentMessage { Hello = Report003.HelloFor("vm_b") });
        Assert.That(await big.ResponseStream.MoveNext(CancellationToken.None), Is.True, "welcome");

        var batch = new ObservationBatch { Seq = 1 };
        batch.Observations.AddRange(Batch(5000, 1)); // ~150 KB
        try
        {
            await big.RequestStream.WriteAsync(new AgentMessage { Batch = batch });
        }
        catch (RpcException)
        {
            // The server may end the call while the message is still being written.
        }

        // The call's own status says why: read until it ends.
        var error = Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await big.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });
        var ack = await quiet.SendBatchAsync(1, Batch(10, 1));
        var agents = await correlator.Query.ListAgentsAsync(new ListAgentsRequest());

        Assert.Multiple(() =>
        {
            Assert.That(big.GetStatus().StatusCode, Is.EqualTo(StatusCode.ResourceExhausted), big.GetStatus().Detail + " / " + error?.Status);
            Assert.That(agents.Agents.Single(a => a.Node == "vm_b").Observations, Is.Zero, "nothing of the oversized batch was taken");
            Assert.That(ack.Accepted, Is.EqualTo(10U), "the other agent's stream goes on");
        });
    }

    [Test]
    public async Task Flood_OneAgentOverItsRate_IsHeldWhileTheOthersLatencyStaysPut()
    {
        const int PerSecond = 20_000;
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?>
        {
            ["Correlator:AgentMaxObservationsPerSecond"] = PerSecond.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await using var quiet = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
        await using var flooder = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_b"));

        var before = await AckLatenciesAsync(quiet, 1, 15);

        // The flooder sends 5,000-observation batches back to back for 3 s (bounded: it stops by itself).
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(3));
        var flooded = 0L;
        var flood = Task.Run(async () =>
        {
            for (ulong seq = 1; !stop.IsCancellationRequested; seq++)
            {
                var ack = await flooder.SendBatchAsync(seq, Batch(5000, (uint)seq * 5000));
                Interlocked.Add(ref flooded, ack.Accepted);
            }
        });
        var clock = Stopwatch.StartNew();
        var during = await AckLatenciesAsync(quiet, 100, 20);
        await flood.WaitAsync(TimeSpan.FromSeconds(30));
        var floodRate = Interlocked.Read(ref flooded) / clock.Elapsed.TotalSeconds;

        TestContext.Out.WriteLine($"quiet agent ack p50 {Median(before):0.0} ms before, {Median(during):0.0} ms during the flood; flooder accepted {floodRate:N0} obs/s");
        Assert.Multiple(() =>
        {
            Assert.That(floodRate, Is.LessThan(PerSecond * 2.5), "the flooder is held near its rate (one second of burst allowed)");
            Assert.That(Median(during), Is.LessThan(Math.Max(50, Median(before) * 5)), "the quiet agent's acks are not queued behind the flood");
        });
    }

    private static async Task<List<double>> AckLatenciesAsync(TestAgent agent, ulong firstSeq, int count)
    {
        var latencies = new List<double>(count);
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            await agent.SendBatchAsync(firstSeq + (ulong)i, Batch(10, (uint)(firstSeq + (ulong)i) * 10));
            latencies.Add(clock.Elapsed.TotalMilliseconds);
            await Task.Delay(50);
        }

        return latencies;
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
}
