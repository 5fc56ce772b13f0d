using HopCapture.Agent.Capture;
using HopCapture.Agent.Clock;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Spool;
using HopCapture.Agent.Upload;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Agent;

public class IngestUploaderTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private readonly List<IDisposable> _owned = [];
    private string _state = "";

    [SetUp]
    public void SetUp()
    {
        _state = Path.Combine(Path.GetTempPath(), "hopcapture-uploader-" + Guid.NewGuid().ToString("N"));
    }

    [TearDown]
    public void TearDown()
    {
        _owned.ForEach(d => d.Dispose());
        _owned.Clear();
        if (Directory.Exists(_state))
        {
            Directory.Delete(_state, recursive: true);
        }
    }

    private (IngestUploader Uploader, ObservationQueue Queue) CreateUploader(string url, IHostApplicationLifetime? lifetime = null)
    {
        var options = new AgentOptions
        {
            Node = "node-a",
            Correlator = url,
            Interfaces = [new InterfaceOptions { Name = "veth-test", Role = "vif" }, new InterfaceOptions { Name = "eno1", Role = "nic", Point = "bond0" }],
            BatchMax = 10,
            BatchInterval = TimeSpan.FromMilliseconds(50),
            HeartbeatInterval = TimeSpan.FromMilliseconds(300),
            StateDirectory = _state,
        };
        var queue = new ObservationQueue(10_000);
        var state = AgentStateDirectory.Open(options.StateDirectory, NullLogger.Instance);
        var spool = SpoolBatchSource.Open(options.SpoolDirectory, options.Spool.MaxBytes, NullLogger.Instance);
        _owned.Add(spool);
        _owned.Add(state);
        var uploader = new IngestUploader(
            Options.Create(options), queue, new AgentInterfaces(options.Interfaces), new ClockReader(), state, spool, TimeProvider.System,
            NullLogger<IngestUploader>.Instance, lifetime);
        return (uploader, queue);
    }

    private static void Feed(ObservationQueue queue, int from, int count)
    {
        for (var i = from; i < from + count; i++)
        {
            var observation = new HopCapture.Engine.Model.Observation(
                1, 1_700_000_000_000_000_000L + i, IpAddress128.FromIPv4(0x0A000001), IpAddress128.FromIPv4(0x0A000002),
                7, (ushort)i, 0xABCD, HopCapture.Engine.Model.EchoType.Request, PacketDirection.Out);
            Assert.That(queue.TryWrite(new CapturedObservation(observation, 98, 100)), Is.True);
        }
    }

    private static List<ObservationBatch> Batches(IEnumerable<AgentMessage> messages) =>
        [.. messages.Where(m => m.BodyCase == AgentMessage.BodyOneofCase.Batch).Select(m => m.Batch)];

    [Test]
    public async Task Upload_ServerUp_HelloFirstThenContiguousBatchesAndHeartbeats()
    {
        await using var server = await TestIngestServer.StartAsync();
        var (uploader, queue) = CreateUploader(server.Url);
        await using var owned = uploader;
        await uploader.StartAsync(CancellationToken.None).WaitAsync(Timeout);

        Feed(queue, 0, 95);
        await Poll.UntilAsync(() => Batches(server.Messages).Sum(b => b.Observations.Count) == 95 && uploader.Spool.IsEmpty, Timeout, "95 observations acked");
        await Poll.UntilAsync(() => server.Messages.Any(m => m.BodyCase == AgentMessage.BodyOneofCase.Heartbeat), Timeout, "a heartbeat");
        await uploader.StopAsync(CancellationToken.None).WaitAsync(Timeout);

        var messages = server.Messages;
        var hello = messages[0].Hello;
        var batches = Batches(messages);
        var heartbeat = messages.First(m => m.BodyCase == AgentMessage.BodyOneofCase.Heartbeat).Heartbeat;
        var first = batches[0].Observations[0];
        Assert.Multiple(() =>
        {
            Assert.That(messages[0].BodyCase, Is.EqualTo(AgentMessage.BodyOneofCase.Hello));
            Assert.That(hello.Node, Is.EqualTo("node-a"));
            Assert.That(hello.InstanceId, Is.EqualTo(uploader.InstanceId).And.Not.Empty);
            Assert.That(hello.NextSeq, Is.EqualTo(1));
            Assert.That(hello.Interfaces.Select(i => (i.Name, i.Role, i.Point)), Is.EqualTo(new[] { ("veth-test", Role.Vif, "veth-test"), ("eno1", Role.Nic, "bond0") }));
            Assert.That(hello.Clock, Is.Not.Null);
            Assert.That(messages.Count(m => m.BodyCase == AgentMessage.BodyOneofCase.Hello), Is.EqualTo(1));
            Assert.That(batches.Select(b => b.Seq), Is.EqualTo(Enumerable.Range(1, batches.Count).Select(i => (ulong)i)));
            Assert.That(batches, Has.All.Matches<ObservationBatch>(b => b.Observations.Count <= 10));
            Assert.That(batches.SelectMany(b => b.Observations).Select(o => (int)o.IcmpSeq), Is.EqualTo(Enumerable.Range(0, 95)));
            Assert.That(first.Iface, Is.EqualTo(1));
            Assert.That(first.Direction, Is.EqualTo(Direction.Out));
            Assert.That(first.TsNs, Is.EqualTo(1_700_000_000_000_000_000L));
            Assert.That(first.Src.ToByteArray(), Is.EqualTo(new byte[] { 10, 0, 0, 1 }));
            Assert.That(first.Type, Is.EqualTo(Protos.EchoType.Request));
            Assert.That(first.PayloadHash, Is.EqualTo(0xABCD));
            Assert.That(batches, Has.All.Matches<ObservationBatch>(b => b.Packed.IsEmpty), "the test server's Welcome does not accept packed: the session unpacked them");
            Assert.That(heartbeat.Interfaces, Has.Count.EqualTo(2));
        });
    }

    [Test]
    public async Task Upload_ServerRestarts_BuffersThenResendsUnackedBatches()
    {
        // The first server acks only batches 1 and 2, then dies.
        var server = await TestIngestServer.StartAsync(ack: seq => seq <= 2);
        var port = server.Port;
        var (uploader, queue) = CreateUploader(server.Url);
        await using var owned = uploader;
        await uploader.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        Feed(queue, 0, 50);
        await Poll.UntilAsync(() => Batches(server.Messages).Sum(b => b.Observations.Count) == 50, Timeout, "50 observations sent");
        await Poll.UntilAsync(() => uploader.Spool.PendingObservations == 30, Timeout, "batches 1 and 2 acked");
        await server.KillAsync().WaitAsync(Timeout);
        await server.DisposeAsync();

        // While it is down, capture goes on and the uploader buffers.
        await Poll.UntilAsync(() => !uploader.Connected, Timeout, "the uploader to notice");
        Feed(queue, 50, 20);
        await Poll.UntilAsync(() => uploader.Spool.PendingObservations == 50, Timeout, "50 observations buffered while down");

        // The correlator comes back remembering batches up to 2.
        await using var restarted = await TestIngestServer.StartAsync(port, resumeAfter: 2);
        await Poll.UntilAsync(() => Batches(restarted.Messages).Sum(b => b.Observations.Count) == 50 && uploader.Spool.IsEmpty, Timeout, "the buffered observations re-sent and acked");
        await uploader.StopAsync(CancellationToken.None).WaitAsync(Timeout);

        var messages = restarted.Messages;
        var batches = Batches(messages);
        Assert.Multiple(() =>
        {
            Assert.That(messages[0].BodyCase, Is.EqualTo(AgentMessage.BodyOneofCase.Hello));
            Assert.That(messages[0].Hello.NextSeq, Is.EqualTo(3));
            Assert.That(batches.Select(b => b.Seq), Is.EqualTo(Enumerable.Range(3, batches.Count).Select(i => (ulong)i)));
            Assert.That(batches.SelectMany(b => b.Observations).Select(o => (int)o.IcmpSeq), Is.EqualTo(Enumerable.Range(20, 50)));
            Assert.That(uploader.Spool.DroppedObservations, Is.Zero);
        });
    }

    [Test]
    public async Task Upload_NodeNotAllowed_StopsTheHostWithOneLineReason()
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?> { ["Correlator:AllowedNodes:0"] = "node-b" });
        using var lifetime = new TestLifetime();
        var (uploader, queue) = CreateUploader(correlator.Address, lifetime);
        await using var owned = uploader;
        Feed(queue, 0, 5);

        await uploader.StartAsync(CancellationToken.None).WaitAsync(Timeout);
        await Poll.UntilAsync(() => lifetime.StopRequested, Timeout, "the host to be stopped");
        await uploader.StopAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.That(uploader.Failure, Is.EqualTo(new UploadFailure(
            $"the correlator at {correlator.Address} refused this agent: PermissionDenied: node 'node-a' is not in Correlator:AllowedNodes", Refused: true)));
    }

    [Test]
    public async Task AgentProcess_NodeNotAllowed_ExitsTwoWithTheReason()
    {
        var directory = Path.Combine(Path.GetTempPath(), "hopcapture-refused-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        try
        {
            var file = Path.Combine(directory, "eth0.pcap");
            using (var pcap = new PcapFileBuilder(file))
            {
                pcap.AddEcho(1_700_000_000_000_000_000L, System.Net.IPAddress.Parse("10.0.0.1"), System.Net.IPAddress.Parse("10.0.0.2"), true, 7, 1, 1);
            }

            await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?> { ["Correlator:AllowedNodes:0"] = "node-b" });

            var result = await ProcessRunner.RunAsync(
                "dotnet",
                [RepoPaths.Executable("Agent", "hopcapture-agent"), "--state-dir", Path.Combine(directory, "state"), "--node", "node-a", "--correlator", correlator.Address, "--iface", "eth0=guest", "--replay", $"eth0={file}"],
                TimeSpan.FromSeconds(60),
                CancellationToken.None,
                directory).WaitAsync(TimeSpan.FromSeconds(90));

            Assert.Multiple(() =>
            {
                Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
                Assert.That(result.StdErr.Trim(), Is.EqualTo(
                    $"agent: the correlator at {correlator.Address} refused this agent: PermissionDenied: node 'node-a' is not in Correlator:AllowedNodes"));
            });
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed class TestLifetime : IHostApplicationLifetime, IDisposable
    {
        private readonly CancellationTokenSource _stopping = new();

        public CancellationToken ApplicationStarted => CancellationToken.None;

        public CancellationToken ApplicationStopping => _stopping.Token;

        public CancellationToken ApplicationStopped => CancellationToken.None;

        public bool StopRequested => _stopping.IsCancellationRequested;

        public void StopApplication() => _stopping.Cancel();

        public void Dispose() => _stopping.Dispose();
    }
}
