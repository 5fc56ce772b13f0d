using System.Net;
using Grpc.Core;
using HopCapture.Protos;
using HopCapture.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HopCapture.Tests.Agent;

/// <summary>
/// A real gRPC Ingest server on loopback (Kestrel, HTTP/2 cleartext) that records what agents send
/// and acks batches the test allows. The real correlator is tested on its own.
/// </summary>
internal sealed class TestIngestServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Recorder _recorder;

    private TestIngestServer(WebApplication app, Recorder recorder, int port)
    {
        _app = app;
        _recorder = recorder;
        Port = port;
    }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    /// <summary>Every message from every stream, in arrival order.</summary>
    public List<AgentMessage> Messages
    {
        get
        {
            lock (_recorder.Messages)
            {
                return [.. _recorder.Messages];
            }
        }
    }

    /// <summary>Connect calls so far (each stream an agent opened, refused ones included).</summary>
    public int Connections => _recorder.Connections;

    /// <param name="ack">Which batch seqs are acked.</param>
    /// <param name="answer">
    /// Per stream (1 for the first): null to welcome it, <see cref="Status.DefaultSuccess"/> to never
    /// answer the Hello, any other status to end the call with it after reading the Hello.
    /// </param>
    public static async Task<TestIngestServer> StartAsync(int port = 0, ulong resumeAfter = 0, Func<ulong, bool>? ack = null, Func<int, Status?>? answer = null)
    {
        var recorder = new Recorder(resumeAfter, ack ?? (_ => true), answer ?? (_ => null));
        var (app, bound) = await LoopbackGrpcHost.StartAsync<IngestService>(services => services.AddSingleton(recorder), port);
        return new TestIngestServer(app, recorder, bound);
    }

    /// <summary>Ends every open stream abruptly and stops listening, like a crashed correlator.</summary>
    public async Task KillAsync()
    {
        await _recorder.Kill.CancelAsync();
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(10));
    }

    public async ValueTask DisposeAsync()
    {
        if (!_recorder.Kill.IsCancellationRequested)
        {
            await KillAsync();
        }

        await _app.DisposeAsync();
    }

    internal sealed class Recorder(ulong resumeAfter, Func<ulong, bool> ack, Func<int, Status?> answer)
    {
        private int _connections;

        public int Connections => Volatile.Read(ref _connections);

        public Func<int, Status?> Answer { get; } = answer;

        public int NextConnection() => Interlocked.Increment(ref _connections);

        public List<AgentMessage> Messages { get; } = [];

        public ulong ResumeAfter { get; } = resumeAfter;

        public Func<ulong, bool> Ack { get; } = ack;

        public CancellationTokenSource Kill { get; } = new();
    }

    private sealed class IngestService(Recorder recorder) : Ingest.IngestBase
    {
        public override async Task Connect(IAsyncStreamReader<AgentMessage> requestStream, IServerStreamWriter<CorrelatorMessage> responseStream, ServerCallContext context)
        {
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, recorder.Kill.Token);
            try
            {
                var answer = recorder.Answer(recorder.NextConnection());
                var first = true;
                while (await requestStream.MoveNext(linked.Token))
                {
                    var message = requestStream.Current;
                    lock (recorder.Messages)
                    {
                        recorder.Messages.Add(message);
                    }

                    if (first && answer is { } status)
                    {
                        if (status.StatusCode != StatusCode.OK)
                        {
                            throw new RpcException(status);
                        }

                        // Never answer: the client's welcome timeout has to notice.
                        await Task.Delay(Timeout.Infinite, linked.Token);
                    }
                    else if (first)
                    {
                        first = false;
                        await responseStream.WriteAsync(new CorrelatorMessage
                        {
                            Welcome = new Welcome { CorrelatorVersion = "test", AgentId = message.Hello?.Node ?? "?", ResumeAfterSeq = recorder.ResumeAfter },
                        }, linked.Token);
                    }
                    else if (message.BodyCase == AgentMessage.BodyOneofCase.Batch && recorder.Ack(message.Batch.Seq))
                    {
                        await responseStream.WriteAsync(new CorrelatorMessage
                        {
                            Ack = new Ack { Seq = message.Batch.Seq, Accepted = (uint)message.Batch.Observations.Count },
                        }, linked.Token);
                    }
                }
            }
            catch (OperationCanceledException) when (recorder.Kill.IsCancellationRequested)
            {
                // Killed: end the call without a goodbye.
            }
            catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
            {
                // The client gave up on the stream.
            }
        }
    }
}
