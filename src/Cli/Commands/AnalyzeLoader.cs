using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Cli.Commands;

/// <summary>
/// <c>capture analyze --load URL</c>: a one-shot ingest client. Each node of the files gets one
/// stream (Hello with its interfaces, batches stamped <c>imported</c>, acks awaited at the end),
/// speaking the agent's protocol. No retry or outbox: a failed load is reported and can be run
/// again (the correlator deduplicates nothing across instances, so rerun into a fresh database).
/// </summary>
public sealed class AnalyzeLoader : IObservationSink, IAsyncDisposable
{
    public const int BatchSize = 1000;
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(10);

    private readonly GrpcChannel _channel;
    private readonly Ingest.IngestClient _client;
    private readonly Dictionary<int, (Stream Stream, uint HelloIndex)> _byIface = [];
    private readonly List<Stream> _streams = [];
    private readonly List<InterfaceEntry> _pending = [];
    private readonly CancellationTokenSource _failed = new();
    private Exception? _failure;

    public AnalyzeLoader(string address)
    {
        Address = address;
        _channel = GrpcChannel.ForAddress(address);
        _client = new Ingest.IngestClient(_channel);
    }

    public string Address { get; }

    public void InterfaceAdded(InterfaceEntry iface)
    {
        ArgumentNullException.ThrowIfNull(iface);
        _pending.Add(iface);
    }

    public void Add(in Observation observation, uint wireLength, ushort vlan)
    {
        if (_pending.Count > 0)
        {
            OpenPending();
        }

        var (stream, index) = _byIface[observation.Iface];
        var proto = observation.ToProto(wireLength, vlan);
        proto.Iface = index;
        stream.Current.Observations.Add(proto);
        if (stream.Current.Observations.Count >= BatchSize)
        {
            Send(stream);
        }
    }

    /// <summary>Sends what is left, waits for every ack, closes the streams; throws what failed.</summary>
    public async Task<AnalyzeLoad> CompleteAsync(CancellationToken cancellationToken)
    {
        foreach (var stream in _streams)
        {
            if (stream.Current.Observations.Count > 0)
            {
                Send(stream);
            }

            stream.Outgoing.Writer.TryComplete();
        }

        try
        {
            await Task.WhenAll(_streams.Select(static s => s.Pump)).WaitAsync(cancellationToken);
        }
        catch when (_failure is not null)
        {
            throw _failure;
        }

        var load = new AnalyzeLoad { Correlator = Address };
        foreach (var stream in _streams)
        {
            load.Observations += stream.Observations;
            load.Batches += stream.Seq;
            load.Accepted += stream.Accepted;
            load.Rejected += stream.Rejected;
            if (load.FirstRejectReason.Length == 0)
            {
                load.FirstRejectReason = stream.FirstRejectReason;
            }
        }

        return load;
    }

    public async ValueTask DisposeAsync()
    {
        await _failed.CancelAsync();
        foreach (var stream in _streams)
        {
            stream.Outgoing.Writer.TryComplete();
            await stream.Pump.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        _failed.Dispose();
        _channel.Dispose();
    }

    /// <summary>
    /// New interfaces become one new stream per node (a Hello lists its interfaces once); a pcapng
    /// interface described mid-file therefore opens a second stream for its node.
    /// </summary>
    private void OpenPending()
    {
        foreach (var group in _pending.GroupBy(static i => i.Node, StringComparer.Ordinal))
        {
            var hello = new Hello
            {
                Node = group.Key,
                AgentVersion = "capture-analyze",
                InstanceId = Guid.NewGuid().ToString(),
                Hostname = group.Key,
                NextSeq = 1,
                Clock = new ClockStatus { Source = "import" },
            };
            var stream = new Stream(hello);
            foreach (var iface in group)
            {
                _byIface[iface.Id] = (stream, (uint)hello.Interfaces.Count);
                hello.Interfaces.Add(new InterfaceInfo { Name = iface.Iface, Role = iface.Role.ToProto(), Point = iface.Point });
            }

            stream.Pump = Task.Run(() => PumpAsync(stream));
            _streams.Add(stream);
        }

        _pending.Clear();
    }

    private void Send(Stream stream)
    {
        var batch = stream.Current;
        batch.Seq = ++stream.Seq;
        stream.Observations += (ulong)batch.Observations.Count;
        stream.Current = new ObservationBatch { Imported = true };
        if (stream.Outgoing.Writer.TryWrite(batch))
        {
            return;
        }

        try
        {
            // The engine loop is synchronous: waiting here is the back-pressure of the correlator.
            stream.Outgoing.Writer.WriteAsync(batch, _failed.Token).AsTask().GetAwaiter().GetResult();
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException && _failure is not null)
        {
            throw _failure!;
        }
    }

    private async Task PumpAsync(Stream stream)
    {
        try
        {
            using var call = _client.Connect(cancellationToken: _failed.Token);
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = stream.Hello }, _failed.Token);
            using (var welcomeWait = CancellationTokenSource.CreateLinkedTokenSource(_failed.Token))
            {
                welcomeWait.CancelAfter(WelcomeTimeout);
                if (!await call.ResponseStream.MoveNext(welcomeWait.Token) || call.ResponseStream.Current.Welcome is null)
                {
                    throw new RpcException(new Status(StatusCode.Unavailable, "the correlator closed the stream without a Welcome"));
                }
            }

            var acks = Task.Run(async () =>
            {
                while (await call.ResponseStream.MoveNext(_failed.Token))
                {
                    if (call.ResponseStream.Current.Ack is { } ack)
                    {
                        stream.Accepted += ack.Accepted;
                        stream.Rejected += ack.Rejected;
                        if (stream.FirstRejectReason.Length == 0)
                        {
                            stream.FirstRejectReason = ack.RejectReason;
                        }

                        stream.AckedSeq = ack.Seq;
                    }
                }
            });

            await foreach (var batch in stream.Outgoing.Reader.ReadAllAsync(_failed.Token))
            {
                await call.RequestStream.WriteAsync(new AgentMessage { Batch = batch }, _failed.Token);
            }

            await call.RequestStream.CompleteAsync();
            await acks;
            if (stream.AckedSeq != stream.Seq)
            {
                throw new RpcException(new Status(StatusCode.Unavailable,
                    $"node {stream.Hello.Node}: the correlator acknowledged batch {stream.AckedSeq} of {stream.Seq} before closing"));
            }
        }
        catch (Exception ex) when (!_failed.IsCancellationRequested || _failure is null)
        {
            _failure ??= ex;
            stream.Outgoing.Writer.TryComplete(ex);
            await _failed.CancelAsync();
            throw;
        }
    }

    private sealed class Stream(Hello hello)
    {
        public Hello Hello { get; } = hello;

        public Channel<ObservationBatch> Outgoing { get; } = Channel.CreateBounded<ObservationBatch>(
            new BoundedChannelOptions(16) { SingleReader = true, SingleWriter = true });

        public ObservationBatch Current { get; set; } = new() { Imported = true };

        public Task Pump { get; set; } = Task.CompletedTask;

        public ulong Seq { get; set; }

        public ulong Observations { get; set; }

        public ulong AckedSeq { get; set; }

        public ulong Accepted { get; set; }

        public ulong Rejected { get; set; }

        public string FirstRejectReason { get; set; } = "";
    }
}
