using Grpc.Core;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator;

/// <summary>A hand-driven agent stream: Hello → Welcome, then batches with their acks.</summary>
public sealed class TestAgent : IAsyncDisposable
{
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> _call;

    private TestAgent(AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call, Welcome welcome)
    {
        _call = call;
        Welcome = welcome;
    }

    public Welcome Welcome { get; }

    public static Task<TestAgent> ConnectAsync(TestCorrelator correlator, Hello hello)
    {
        ArgumentNullException.ThrowIfNull(correlator);
        return ConnectAsync(correlator.Ingest, hello);
    }

    /// <summary>Over a client of its own (a TLS channel with a certificate, say).</summary>
    public static async Task<TestAgent> ConnectAsync(Ingest.IngestClient client, Hello hello)
    {
        ArgumentNullException.ThrowIfNull(client);
        var call = client.Connect(deadline: DateTime.UtcNow.AddMinutes(2));
        try
        {
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = hello }).WaitAsync(CallTimeout);
            var message = await NextAsync(call);
            Assert.That(message.BodyCase, Is.EqualTo(CorrelatorMessage.BodyOneofCase.Welcome), "the correlator answers a Hello with a Welcome");
            return new TestAgent(call, message.Welcome);
        }
        catch
        {
            call.Dispose();
            throw;
        }
    }

    public Task<Ack> SendBatchAsync(ulong seq, IEnumerable<Observation> observations, bool imported = false)
    {
        var batch = new ObservationBatch { Seq = seq, Imported = imported };
        batch.Observations.AddRange(observations);
        return SendBatchAsync(batch);
    }

    /// <summary>Sends a batch as built (packed observations, say) and returns its ack.</summary>
    public async Task<Ack> SendBatchAsync(ObservationBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var seq = batch.Seq;
        try
        {
            await _call.RequestStream.WriteAsync(new AgentMessage { Batch = batch }).WaitAsync(CallTimeout);
        }
        catch (RpcException)
        {
            // The server ended the call first (a refused earlier message): its status, not the
            // write's, is what happened; reading the response stream throws it.
            await NextAsync(_call);
            throw;
        }

        var message = await NextAsync(_call);
        Assert.That(message.BodyCase, Is.EqualTo(CorrelatorMessage.BodyOneofCase.Ack));
        Assert.That(message.Ack.Seq, Is.EqualTo(seq), "acks come in batch order");
        return message.Ack;
    }

    /// <summary>The agent's interface table changed: sent without an answer, like a heartbeat.</summary>
    public Task SendInterfacesAsync(IEnumerable<InterfaceInfo> interfaces)
    {
        var changed = new InterfacesChanged();
        changed.Interfaces.AddRange(interfaces);
        return _call.RequestStream.WriteAsync(new AgentMessage { Interfaces = changed }).WaitAsync(CallTimeout);
    }

    public Task SendHeartbeatAsync(Heartbeat heartbeat) =>
        _call.RequestStream.WriteAsync(new AgentMessage { Heartbeat = heartbeat }).WaitAsync(CallTimeout);

    /// <summary>Ends the stream the way an agent stopping cleanly does.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await _call.RequestStream.CompleteAsync().WaitAsync(CallTimeout);
            while (await _call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(CallTimeout))
            {
            }
        }
        catch (RpcException)
        {
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            _call.Dispose();
        }
    }

    private static async Task<CorrelatorMessage> NextAsync(AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call)
    {
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(CallTimeout), Is.True, "the correlator ended the stream");
        return call.ResponseStream.Current;
    }
}
