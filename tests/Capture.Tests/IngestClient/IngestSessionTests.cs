using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Grpc.Core;
using Grpc.Net.Client;
using HopCapture.IngestClient;
using HopCapture.Protos;
using HopCapture.Tests.Agent;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.IngestClient;

/// <summary>
/// The ingest protocol, once, against the one client (<see cref="IngestSession"/>) on loopback:
/// the agent's uploader and analyze --load are its clients and are tested for what they add.
/// </summary>
public class IngestSessionTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static Hello HelloFor(string node, ulong nextSeq)
    {
        var hello = new Hello { Node = node, InstanceId = "instance-" + node, AgentVersion = "test", NextSeq = nextSeq, Clock = new ClockStatus() };
        hello.Interfaces.Add(new InterfaceInfo { Name = "eth0", Role = Role.Guest, Point = "eth0" });
        return hello;
    }

    private static List<AgentMessage> Of(IEnumerable<AgentMessage> messages, AgentMessage.BodyOneofCase body) =>
        [.. messages.Where(m => m.BodyCase == body)];

    [Test]
    public async Task RunAsync_ServerUp_HelloWelcomeContiguousBatchesAcked()
    {
        await using var server = await TestIngestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        source.Seal(_ => Batch(3));
        source.Seal(_ => Batch(2));
        source.Seal(_ => Batch(4));
        source.Complete();
        var observer = new Recorder();
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next), observer: observer);

        await session.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        var messages = server.Messages;
        Assert.Multiple(() =>
        {
            Assert.That(messages[0].BodyCase, Is.EqualTo(AgentMessage.BodyOneofCase.Hello));
            Assert.That(messages[0].Hello.NextSeq, Is.EqualTo(1));
            Assert.That(Of(messages, AgentMessage.BodyOneofCase.Hello), Has.Count.EqualTo(1));
            Assert.That(Of(messages, AgentMessage.BodyOneofCase.Batch).Select(m => (m.Batch.Seq, m.Batch.Observations.Count)),
                Is.EqualTo(new[] { (1UL, 3), (2UL, 2), (3UL, 4) }));
            Assert.That(observer.Welcomes.Select(w => w.CorrelatorVersion), Is.EqualTo(new[] { "test" }));
            Assert.That(observer.Acks.Select(a => a.Seq), Is.EqualTo(new[] { 1UL, 2UL, 3UL }));
            Assert.That(source.IsEmpty, Is.True);
            Assert.That(session.Attempts, Is.EqualTo(1));
            Assert.That(session.Connected, Is.False);
        });
    }

    [Test]
    public async Task RunAsync_WelcomeResumesAfterSeq_SendsOnlyLaterBatches()
    {
        await using var server = await TestIngestServer.StartAsync(resumeAfter: 2);
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        for (var i = 0; i < 4; i++)
        {
            source.Seal(_ => Batch(1));
        }

        source.Complete();
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next));

        await session.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(server.Messages[0].Hello.NextSeq, Is.EqualTo(1));
            Assert.That(Of(server.Messages, AgentMessage.BodyOneofCase.Batch).Select(m => m.Batch.Seq), Is.EqualTo(new[] { 3UL, 4UL }));
            Assert.That(source.IsEmpty, Is.True);
        });
    }

    [Test]
    public async Task RunAsync_StreamLostBeforeAcks_ResendsUnackedBatchesAfterReconnect()
    {
        // The first server acks batches 1 and 2 only, then dies.
        var first = await TestIngestServer.StartAsync(ack: seq => seq <= 2);
        var port = first.Port;
        using var channel = GrpcChannel.ForAddress(first.Url);
        var source = new ListBatchSource();
        for (var i = 0; i < 5; i++)
        {
            source.Seal(_ => Batch(2));
        }

        var observer = new Recorder();
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next), observer: observer);
        using var stop = new CancellationTokenSource();
        var run = session.RunAsync(stop.Token);
        await Poll.UntilAsync(() => Of(first.Messages, AgentMessage.BodyOneofCase.Batch).Count == 5 && source.FirstSeq == 3, Timeout, "5 batches sent, 2 acked");
        await first.KillAsync().WaitAsync(Timeout);
        await first.DisposeAsync();
        await Poll.UntilAsync(() => !observer.Retries.IsEmpty, Timeout, "a retry");

        // The correlator comes back remembering batches up to 2; the source completes meanwhile.
        await using var second = await TestIngestServer.StartAsync(port, resumeAfter: 2);
        source.Complete();
        session.Wake();
        await run.WaitAsync(Timeout);

        var messages = second.Messages;
        Assert.Multiple(() =>
        {
            Assert.That(messages[0].Hello.NextSeq, Is.EqualTo(3));
            Assert.That(Of(messages, AgentMessage.BodyOneofCase.Batch).Select(m => m.Batch.Seq), Is.EqualTo(new[] { 3UL, 4UL, 5UL }));
            Assert.That(observer.Welcomes, Has.Count.EqualTo(2));
            Assert.That(source.IsEmpty, Is.True);
        });
    }

    [Test]
    public async Task RunAsync_NoWelcomeInTime_RetriedOnANewStream()
    {
        await using var server = await TestIngestServer.StartAsync(answer: n => n == 1 ? Status.DefaultSuccess : null);
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        source.Seal(_ => Batch(1));
        source.Complete();
        var observer = new Recorder();
        var options = new IngestSessionOptions { WelcomeTimeout = TimeSpan.FromMilliseconds(300) };
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next), options, observer);

        await session.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(server.Connections, Is.EqualTo(2));
            Assert.That(observer.Retries, Has.Count.EqualTo(1));
            Assert.That(observer.Retries.Single(), Does.Contain("no welcome from the correlator within 0.3 s"));
            Assert.That(Of(server.Messages, AgentMessage.BodyOneofCase.Batch).Select(m => m.Batch.Seq), Is.EqualTo(new[] { 1UL }));
        });
    }

    [TestCase(StatusCode.Unavailable)]
    [TestCase(StatusCode.ResourceExhausted)]
    [TestCase(StatusCode.Aborted)]
    [TestCase(StatusCode.DeadlineExceeded)]
    public async Task RunAsync_TransientStatus_Retried(StatusCode code)
    {
        await using var server = await TestIngestServer.StartAsync(answer: n => n == 1 ? new Status(code, "try again") : null);
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        source.Seal(_ => Batch(1));
        source.Complete();
        var observer = new Recorder();
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next), observer: observer);

        await session.RunAsync(CancellationToken.None).WaitAsync(Timeout);

        Assert.Multiple(() =>
        {
            Assert.That(server.Connections, Is.EqualTo(2));
            Assert.That(observer.Retries.Single(), Is.EqualTo($"{code}: try again"));
            Assert.That(source.IsEmpty, Is.True);
        });
    }

    [TestCase(StatusCode.InvalidArgument)]
    [TestCase(StatusCode.PermissionDenied)]
    [TestCase(StatusCode.Unauthenticated)]
    [TestCase(StatusCode.FailedPrecondition)]
    [TestCase(StatusCode.Unimplemented)]
    public async Task RunAsync_RefusalStatus_FailsOnceWithTheReason(StatusCode code)
    {
        await using var server = await TestIngestServer.StartAsync(answer: _ => new Status(code, "no such thing"));
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        source.Seal(_ => Batch(1));
        var observer = new Recorder();
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next), observer: observer);

        var refused = await AsyncFailure<IngestRefusedException>(session.RunAsync(CancellationToken.None).WaitAsync(Timeout));

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(code));
            Assert.That(refused.Message, Is.EqualTo($"{code}: no such thing"));
            Assert.That(server.Connections, Is.EqualTo(1));
            Assert.That(observer.Retries, Is.Empty);
        });
    }

    [Test]
    public async Task RunAsync_NodeNotInAllowedNodes_RealCorrelatorRefusesOnceNamingTheNode()
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?> { ["Correlator:AllowedNodes:0"] = "node-b" });
        var counter = new CountingHandler(new SocketsHttpHandler());
        using var channel = GrpcChannel.ForAddress(correlator.Address, new GrpcChannelOptions { HttpHandler = counter });
        var source = new ListBatchSource();
        source.Seal(_ => Batch(1));
        var observer = new Recorder();
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next), observer: observer);

        var refused = await AsyncFailure<IngestRefusedException>(session.RunAsync(CancellationToken.None).WaitAsync(Timeout));

        Assert.Multiple(() =>
        {
            Assert.That(refused.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(refused.Message, Is.EqualTo("PermissionDenied: node 'node-a' is not in Correlator:AllowedNodes"));
            Assert.That(counter.Requests, Is.EqualTo(1), "Connect calls that reached the correlator");
            Assert.That(session.Attempts, Is.EqualTo(1));
            Assert.That(observer.Retries, Is.Empty);
        });
    }

    [Test]
    public async Task RunAsync_CallerCancelsWhileWaitingForWelcome_NotRetried()
    {
        await using var server = await TestIngestServer.StartAsync(answer: _ => Status.DefaultSuccess);
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        var observer = new Recorder();
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next), observer: observer);
        using var stop = new CancellationTokenSource();
        var run = session.RunAsync(stop.Token);
        await Poll.UntilAsync(() => server.Messages.Count == 1, Timeout, "the hello");

        await stop.CancelAsync();
        await AsyncFailure<OperationCanceledException>(run.WaitAsync(Timeout));

        Assert.Multiple(() =>
        {
            Assert.That(server.Connections, Is.EqualTo(1));
            Assert.That(observer.Retries, Is.Empty);
        });
    }

    [Test]
    public async Task RunAsync_FlushDeadlinePassesWithUnackedBatches_CompletesTheStream()
    {
        await using var server = await TestIngestServer.StartAsync(ack: _ => false);
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        source.Seal(_ => Batch(1));
        var session = new IngestSession(new Ingest.IngestClient(channel), source, next => HelloFor("node-a", next));
        var run = session.RunAsync(CancellationToken.None);
        await Poll.UntilAsync(() => Of(server.Messages, AgentMessage.BodyOneofCase.Batch).Count == 1, Timeout, "the batch");

        session.FlushBy(DateTimeOffset.UtcNow);
        await run.WaitAsync(Timeout);

        Assert.That(source.FirstSeq, Is.EqualTo(1), "the batch is still un-acked");
    }

    [TestCase(StatusCode.Unavailable, IngestFailureKind.Transient)]
    [TestCase(StatusCode.DeadlineExceeded, IngestFailureKind.Transient)]
    [TestCase(StatusCode.ResourceExhausted, IngestFailureKind.Transient)]
    [TestCase(StatusCode.Aborted, IngestFailureKind.Transient)]
    [TestCase(StatusCode.InvalidArgument, IngestFailureKind.Refused)]
    [TestCase(StatusCode.PermissionDenied, IngestFailureKind.Refused)]
    [TestCase(StatusCode.Unauthenticated, IngestFailureKind.Refused)]
    [TestCase(StatusCode.FailedPrecondition, IngestFailureKind.Refused)]
    [TestCase(StatusCode.Unimplemented, IngestFailureKind.Refused)]
    [TestCase(StatusCode.Internal, IngestFailureKind.Failed)]
    [TestCase(StatusCode.Unknown, IngestFailureKind.Failed)]
    [TestCase(StatusCode.NotFound, IngestFailureKind.Failed)]
    public void Classify_StatusFromTheServer_Kind(StatusCode code, IngestFailureKind expected) =>
        Assert.That(IngestRetry.Classify(new RpcException(new Status(code, "x")), CancellationToken.None), Is.EqualTo(expected));

    [Test]
    public void Classify_InternalFromABrokenConnection_Transient()
    {
        var broken = new RpcException(new Status(StatusCode.Internal, "Error reading next message.", new IOException("The request was aborted.")));
        Assert.That(IngestRetry.Classify(broken, CancellationToken.None), Is.EqualTo(IngestFailureKind.Transient));
    }

    [Test]
    public void Classify_CallerCancelled_NeverRetried()
    {
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.Multiple(() =>
        {
            Assert.That(IngestRetry.Classify(new RpcException(new Status(StatusCode.Unavailable, "x")), cancelled.Token), Is.EqualTo(IngestFailureKind.Cancelled));
            Assert.That(IngestRetry.Classify(new IngestSessionException("closed"), cancelled.Token), Is.EqualTo(IngestFailureKind.Cancelled));
        });
    }

    private static async Task<T> AsyncFailure<T>(Task task)
        where T : Exception
    {
        try
        {
            await task;
        }
        catch (T expected)
        {
            return expected;
        }

        Assert.Fail($"expected {typeof(T).Name}");
        return null!;
    }

    /// <summary>Sealed batches of n empty-ish observations, like a client's buffer.</summary>
    [Test]
    public async Task RunAsync_TableGrowsMidStream_SendsInterfacesChangedBeforeTheNextBatch()
    {
        await using var server = await TestIngestServer.StartAsync();
        using var channel = GrpcChannel.ForAddress(server.Url);
        var source = new ListBatchSource();
        source.Seal(_ => Batch(1));
        long version = 0;
        var table = new List<InterfaceInfo> { new() { Name = "eth0", Role = Role.Guest, Point = "eth0", State = "capturing" } };
        var observer = new Recorder();
        var session = new IngestSession(
            new Ingest.IngestClient(channel),
            source,
            next => HelloFor("node-a", next),
            new IngestSessionOptions { InterfacesVersion = () => Interlocked.Read(ref version), Interfaces = () => [.. table] },
            observer);
        var run = session.RunAsync(CancellationToken.None);
        await Poll.UntilAsync(() => observer.Acks.Any(a => a.Seq == 1), Timeout, "batch 1 acked");

        // What the capture reconciler does when a tap appears: the table grows, then observations
        // with its index are batched.
        table.Add(new InterfaceInfo { Name = "tap300i0", Role = Role.Vif, Point = "tap300i0", State = "capturing", VmId = "300" });
        Interlocked.Increment(ref version);
        source.Seal(_ => Batch(2));
        source.Complete();
        session.Wake();
        await run.WaitAsync(Timeout);

        var bodies = server.Messages.Select(m => m.BodyCase).Where(b => b != AgentMessage.BodyOneofCase.Heartbeat).ToList();
        var changed = Of(server.Messages, AgentMessage.BodyOneofCase.Interfaces);
        Assert.Multiple(() =>
        {
            Assert.That(bodies, Is.EqualTo(new[]
            {
                AgentMessage.BodyOneofCase.Hello, AgentMessage.BodyOneofCase.Batch,
                AgentMessage.BodyOneofCase.Interfaces, AgentMessage.BodyOneofCase.Batch,
            }));
            Assert.That(changed.Single().Interfaces.Interfaces.Select(i => (i.Name, i.VmId)), Is.EqualTo(new[] { ("eth0", ""), ("tap300i0", "300") }));
        });
    }

    private static ObservationBatch Batch(int observations)
    {
        var batch = new ObservationBatch();
        for (var i = 0; i < observations; i++)
        {
            batch.Observations.Add(new Protos.Observation { IcmpSeq = (uint)i });
        }

        return batch;
    }

    internal sealed class Recorder : IIngestSessionObserver
    {
        public ConcurrentQueue<Welcome> Welcomes { get; } = new();

        public ConcurrentQueue<Ack> Acks { get; } = new();

        public ConcurrentQueue<string> Retries { get; } = new();

        public void Connected(Welcome welcome) => Welcomes.Enqueue(welcome);

        public void Acked(Ack ack) => Acks.Enqueue(ack);

        public void Retrying(string reason, TimeSpan delay) => Retries.Enqueue(reason);
    }

    /// <summary>Counts the HTTP requests (gRPC calls) that leave the client.</summary>
    private sealed class CountingHandler(HttpMessageHandler inner) : DelegatingHandler(inner)
    {
        private int _requests;

        public int Requests => Volatile.Read(ref _requests);

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _requests);
            return base.SendAsync(request, cancellationToken);
        }
    }
}
