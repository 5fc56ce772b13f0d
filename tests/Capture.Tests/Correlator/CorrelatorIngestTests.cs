using Grpc.Core;
using Google.Protobuf;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator;

[TestFixture]
[CancelAfter(60_000)]
public sealed class CorrelatorIngestTests
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    [Test]
    public async Task Connect_Report003FromFourAgents_StoresFabricVerdict()
    {
        await using var correlator = await TestCorrelator.StartAsync();

        await Report003.SendAllAsync(correlator);
        var listed = await WaitForProbesAsync(correlator, 1);

        var probe = listed.Probes[0];
        Assert.Multiple(() =>
        {
            Assert.That(listed.Matched, Is.EqualTo(1UL));
            Assert.That(probe.Id, Is.GreaterThan(0));
            Assert.That(probe.Src, Is.EqualTo(Report003.Src));
            Assert.That(probe.Dst, Is.EqualTo(Report003.Dst));
            Assert.That(probe.Answered, Is.True);
            Assert.That(probe.Points, Has.Count.EqualTo(6));
            Assert.That(probe.RttNs, Is.EqualTo(Report003.RoundTripNs));
            Assert.That(probe.Verdict.Kind, Is.EqualTo("fabric"));
            Assert.That(probe.Verdict.CostNs, Is.EqualTo(Report003.FabricCostNs).Within(1_000));
            Assert.That(probe.Verdict.Text, Does.StartWith("fabric, 120.3"));
        });

        var byId = await correlator.Query.GetProbeAsync(new GetProbeRequest { Id = probe.Id }, deadline: Deadline());
        var byLookup = await correlator.Query.GetProbeAsync(
            new GetProbeRequest
            {
                Lookup = new ProbeLookup
                {
                    Path = new PathFilter { Src = Report003.Src, Dst = Report003.Dst },
                    IcmpSeq = Report003.IcmpSeq,
                    IcmpId = -1,
                },
            },
            deadline: Deadline());
        var paths = await correlator.Query.ListPathsAsync(new ListPathsRequest(), deadline: Deadline());
        var agents = await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), deadline: Deadline());
        Assert.Multiple(() =>
        {
            Assert.That(byId, Is.EqualTo(probe));
            Assert.That(byLookup, Is.EqualTo(probe));
            Assert.That(paths.Paths, Has.Count.EqualTo(1));
            Assert.That(paths.Paths[0].DominantSegment, Is.EqualTo("fabric"));
            Assert.That(paths.Paths[0].WorstProbeId, Is.EqualTo(probe.Id));
            Assert.That(paths.Paths[0].RttMaxNs, Is.EqualTo(Report003.RoundTripNs));
            Assert.That(agents.Agents.Select(a => a.Node), Is.EquivalentTo(new[] { "vm_a", "nc1", "nc2", "vm_b" }));
            Assert.That(agents.Engine.Observations, Is.EqualTo(12UL));
            Assert.That(agents.Engine.ProbesFinalized, Is.EqualTo(1UL));
        });
    }

    [Test]
    public async Task Connect_BatchBeforeHello_FailsWithFailedPrecondition()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        using var call = correlator.Ingest.Connect(deadline: Deadline());

        await call.RequestStream.WriteAsync(new AgentMessage { Batch = new ObservationBatch { Seq = 1 } }).WaitAsync(CallTimeout);
        var error = await ExpectRpcErrorAsync(() => call.ResponseStream.MoveNext(CancellationToken.None));

        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(error.Status.Detail, Is.EqualTo("the first message on Connect must be a Hello"));
    }

    [Test]
    public async Task Connect_NodeNotAllowed_FailsWithPermissionDenied()
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?>
        {
            ["Correlator:AllowedNodes:0"] = "nc1",
        });

        var error = await ExpectRpcErrorAsync(() => TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a")));

        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(error.Status.Detail, Is.EqualTo("node 'vm_a' is not in Correlator:AllowedNodes"));
    }

    [Test]
    public async Task Connect_InterfaceWithoutRole_FailsWithInvalidArgumentNamingIt()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var hello = Report003.HelloFor("nc1");
        hello.Interfaces[1].Role = Role.Unspecified;

        var error = await ExpectRpcErrorAsync(() => TestAgent.ConnectAsync(correlator, hello));

        Assert.That(error.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(error.Status.Detail, Does.Contain("'eth0'").And.Contain("no role"));
    }

    [Test]
    public async Task Connect_BadObservationInBatch_RejectsOnlyIt()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
        var good = Report003.ObservationsFor("vm_a");
        var bad = good[0].Clone();
        bad.Src = ByteString.CopyFrom(1, 2, 3, 4, 5);

        var ack = await agent.SendBatchAsync(1, [good[0], bad, good[1]]);

        Assert.Multiple(() =>
        {
            Assert.That(ack.Accepted, Is.EqualTo(2U));
            Assert.That(ack.Rejected, Is.EqualTo(1U));
            Assert.That(ack.RejectReason, Is.EqualTo("observation 1: src is 5 bytes (an IP address is 4 or 16)"));
        });
        var listed = await WaitForProbesAsync(correlator, 1);
        Assert.That(listed.Probes[0].Points, Has.Count.EqualTo(1));
        Assert.That(listed.Probes[0].Points[0].HasRequest && listed.Probes[0].Points[0].HasReply, Is.True, "both good observations were kept");
    }

    [Test]
    public async Task Connect_ResentBatchSeq_IsAckedButNotCountedTwice()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var hello = Report003.HelloFor("vm_a", "instance-1");
        var observations = Report003.ObservationsFor("vm_a");

        Ack first, again, afterReconnect;
        ulong resumeAfter;
        await using (var agent = await TestAgent.ConnectAsync(correlator, hello))
        {
            first = await agent.SendBatchAsync(1, observations);
            again = await agent.SendBatchAsync(1, observations);
        }

        await using (var agent = await TestAgent.ConnectAsync(correlator, hello))
        {
            resumeAfter = agent.Welcome.ResumeAfterSeq;
            afterReconnect = await agent.SendBatchAsync(1, observations);
        }

        await WaitForProbesAsync(correlator, 1);
        var agents = await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), deadline: Deadline());
        Assert.Multiple(() =>
        {
            Assert.That(first.Accepted, Is.EqualTo(2U));
            Assert.That(again.Accepted, Is.Zero);
            Assert.That(resumeAfter, Is.EqualTo(1UL));
            Assert.That(afterReconnect.Accepted, Is.Zero);
            Assert.That(agents.Engine.Observations, Is.EqualTo(2UL));
            Assert.That(agents.Engine.Duplicates, Is.Zero);
            Assert.That(agents.Agents.Single().Observations, Is.EqualTo(2UL));
        });
    }

    [Test]
    public async Task Restart_SameDatabase_ProbeStillThere()
    {
        var directory = Directory.CreateTempSubdirectory("hopcapture-restart-");
        var database = Path.Combine(directory.FullName, "restart.db");
        try
        {
            await using (var correlator = await TestCorrelator.StartAsync(database))
            {
                await Report003.SendAllAsync(correlator);
                await WaitForProbesAsync(correlator, 1);
            }

            await using (var restarted = await TestCorrelator.StartAsync(database))
            {
                var probe = await restarted.Query.GetProbeAsync(
                    new GetProbeRequest
                    {
                        Lookup = new ProbeLookup
                        {
                            Path = new PathFilter { Src = Report003.Src, Dst = Report003.Dst },
                            IcmpSeq = Report003.IcmpSeq,
                            IcmpId = Report003.IcmpId,
                        },
                    },
                    deadline: Deadline());
                var agents = await restarted.Query.ListAgentsAsync(new ListAgentsRequest(), deadline: Deadline());

                Assert.Multiple(() =>
                {
                    Assert.That(probe.Verdict.Kind, Is.EqualTo("fabric"));
                    Assert.That(probe.Verdict.CostNs, Is.EqualTo(Report003.FabricCostNs).Within(1_000));
                    Assert.That(agents.Agents.Select(a => a.Node), Is.EquivalentTo(new[] { "vm_a", "nc1", "nc2", "vm_b" }));
                    Assert.That(agents.Agents.Any(a => a.Connected), Is.False, "agents from before the restart are listed as disconnected");
                });
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task Stop_ProbeStillInFlight_IsFlushedAndStored()
    {
        var directory = Directory.CreateTempSubdirectory("hopcapture-flush-");
        var database = Path.Combine(directory.FullName, "flush.db");
        var slowEngine = new Dictionary<string, string?> { ["Correlator:Engine:ProbeTimeout"] = "00:10:00", ["Correlator:Engine:Settle"] = "00:05:00" };
        try
        {
            await using (var correlator = await TestCorrelator.StartAsync(database, slowEngine))
            {
                await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
                var ack = await agent.SendBatchAsync(1, Report003.ObservationsFor("vm_a").Take(1));
                Assert.That(ack.Accepted, Is.EqualTo(1U));
                await TestCorrelator.EventuallyAsync(
                    async ct => (await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: ct)).Engine.InFlight,
                    inFlight => inFlight == 1,
                    "the request to be in flight");

                // Stop with the agent stream still open: the correlator ends it instead of waiting.
                var stopwatch = System.Diagnostics.Stopwatch.StartNew();
                await correlator.StopAsync();
                Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "an open agent stream must not hold up the stop");
            }

            await using var restarted = await TestCorrelator.StartAsync(database);
            var listed = await restarted.Query.ListProbesAsync(new ListProbesRequest { LostOnly = true }, deadline: Deadline());
            Assert.That(listed.Probes, Has.Count.EqualTo(1), "the shutdown flush stored the unanswered probe");
            Assert.That(listed.Probes[0].Answered, Is.False);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    internal static async Task<ListProbesResponse> WaitForProbesAsync(TestCorrelator correlator, int count) =>
        await TestCorrelator.EventuallyAsync(
            async ct => await correlator.Query.ListProbesAsync(new ListProbesRequest(), cancellationToken: ct),
            r => r.Probes.Count >= count,
            $"{count} stored probe(s)");

    internal static DateTime Deadline() => DateTime.UtcNow.Add(CallTimeout);

    private static async Task<RpcException> ExpectRpcErrorAsync(Func<Task> call)
    {
        try
        {
            await call().WaitAsync(CallTimeout);
        }
        catch (RpcException ex)
        {
            return ex;
        }

        Assert.Fail("the call should have failed with an RpcException");
        throw new InvalidOperationException("unreachable");
    }
}
