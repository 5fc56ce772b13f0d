using System.Reflection;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Clock;
using HopCapture.Agent.Configuration;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;
using EngineEchoType = HopCapture.Engine.Model.EchoType;
using ProtoObservation = HopCapture.Protos.Observation;

namespace HopCapture.Agent.Upload;

/// <summary>
/// Streams observations to the correlator: Hello, then contiguous-seq batches and heartbeats on one
/// bidirectional stream. Un-acked batches stay in the <see cref="Outbox"/> and are re-sent after a
/// reconnect (those above Welcome.resume_after_seq). Stop flushes for a bounded time, then
/// completes the stream, so `systemctl stop` loses nothing that could be delivered.
/// </summary>
public sealed class IngestUploader : IHostedService, IAsyncDisposable
{
    private static readonly TimeSpan WelcomeTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan WarningEvery = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ShortSession = TimeSpan.FromSeconds(5);

    private readonly AgentOptions _options;
    private readonly ObservationQueue _queue;
    private readonly AgentInterfaces _interfaces;
    private readonly ClockReader _clock;
    private readonly TimeProvider _time;
    private readonly ILogger<IngestUploader> _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly GrpcChannel _channel;
    private readonly Ingest.IngestClient _client;
    private readonly ResiliencePipeline _retry;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<ControlResult> _controlResults = Channel.CreateBounded<ControlResult>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private readonly CancellationTokenSource _hardStop = new();
    private readonly string _version = typeof(IngestUploader).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
    private Task _batcher = Task.CompletedTask;
    private Task _connection = Task.CompletedTask;
    private volatile bool _batcherDone;
    private volatile bool _draining;
    private long _drainDeadlineTicks = long.MaxValue;
    private long _lastWarningTicks = long.MinValue;
    private int _replayStopRequested;
    private int _disposed;

    public IngestUploader(
        IOptions<AgentOptions> options,
        ObservationQueue queue,
        AgentInterfaces interfaces,
        ClockReader clock,
        TimeProvider timeProvider,
        ILogger<IngestUploader> logger,
        IHostApplicationLifetime? lifetime = null)
    {
        _options = options.Value;
        _queue = queue;
        _interfaces = interfaces;
        _clock = clock;
        _time = timeProvider;
        _logger = logger;
        _lifetime = lifetime;
        Outbox = new Outbox(_options.MaxBuffered);
        _channel = GrpcChannel.ForAddress(_options.Correlator, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                EnableMultipleHttp2Connections = true,
            },
        });
        _client = new Ingest.IngestClient(_channel);
        _retry = UploadRetry.Build(_time, OnRetryAsync);
    }

    /// <summary>New per process: the correlator restarts the seq numbering with it.</summary>
    public string InstanceId { get; } = Guid.NewGuid().ToString();

    public Outbox Outbox { get; }

    /// <summary>True while a session is established (Welcome received).</summary>
    public bool Connected { get; private set; }

    /// <summary>Raised on the receive loop for every control command from the correlator; handlers must not block.</summary>
    public event Action<Control>? ControlReceived;

    /// <summary>Sent in Hello: this agent runs the active prober.</summary>
    public bool CanProbe { get; set; }

    /// <summary>Queues a control result for the correlator (sent on the current or next stream).</summary>
    public void Report(ControlResult result)
    {
        _controlResults.Writer.TryWrite(result);
        Wake();
    }

    /// <summary>How long <see cref="StopAsync"/> keeps trying to get buffered batches acked.</summary>
    public TimeSpan FlushTimeout { get; init; } = TimeSpan.FromSeconds(5);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _batcher = Task.Run(() => BatchLoopAsync(_hardStop.Token), CancellationToken.None);
        _connection = Task.Run(() => ConnectionLoopAsync(_hardStop.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        // Capture stops first (registered after us), which completes the queue; the batcher then
        // seals the tail and the session keeps sending until the outbox is acked or time is up.
        var deadline = _time.GetUtcNow() + FlushTimeout;
        Interlocked.Exchange(ref _drainDeadlineTicks, deadline.UtcTicks);
        _draining = true;
        _queue.Complete();
        Wake();
        using var timeout = new CancellationTokenSource(FlushTimeout + TimeSpan.FromSeconds(1), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        await Task.WhenAll(_batcher, _connection).WaitAsync(linked.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!Outbox.IsEmpty)
        {
            UploadLog.FlushIncomplete(_logger, Outbox.Buffered);
        }

        await _hardStop.CancelAsync();
        await Task.WhenAll(_batcher, _connection).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }

    public async ValueTask DisposeAsync()
    {
        // The container disposes us twice: as the singleton and as the hosted-service factory result.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _hardStop.CancelAsync();
        await Task.WhenAll(_batcher, _connection).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _hardStop.Dispose();
        _channel.Dispose();
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task BatchLoopAsync(CancellationToken cancellationToken)
    {
        var reader = _queue.Reader;
        var buffer = new CapturedObservation[_options.BatchMax];
        var count = 0;
        try
        {
            while (await reader.WaitToReadAsync(cancellationToken))
            {
                var deadline = _time.GetUtcNow() + _options.BatchInterval;
                while (count < buffer.Length)
                {
                    while (count < buffer.Length && reader.TryRead(out var item))
                    {
                        buffer[count++] = item;
                    }

                    var remaining = deadline - _time.GetUtcNow();
                    if (count == buffer.Length || remaining <= TimeSpan.Zero || _draining)
                    {
                        break;
                    }

                    using var wait = new CancellationTokenSource(remaining, _time);
                    using var linked = CancellationTokenSource.CreateLinkedTokenSource(wait.Token, cancellationToken);
                    try
                    {
                        if (!await reader.WaitToReadAsync(linked.Token))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        break; // the batch interval is up
                    }
                }

                Seal(buffer, ref count);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            UploadLog.BatchingFailed(_logger, ex);
        }
        finally
        {
            Seal(buffer, ref count);
            _batcherDone = true;
            Wake();
            CheckReplayFinished();
        }
    }

    private void Seal(CapturedObservation[] buffer, ref int count)
    {
        if (count == 0)
        {
            return;
        }

        Outbox.Seal(buffer.AsSpan(0, count));
        count = 0;
        Wake();
    }

    private async Task ConnectionLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var drained = await _retry.ExecuteAsync(RunSessionAsync, cancellationToken);
                if (drained)
                {
                    return;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private ValueTask OnRetryAsync(OnRetryArguments<object> args)
    {
        Connected = false;
        var reason = args.Outcome.Exception is { } ex ? UploadRetry.Describe(ex) : "unknown";
        var delaySeconds = Math.Round(args.RetryDelay.TotalSeconds, 1);
        var buffered = Outbox.Buffered;
        var now = _time.GetUtcNow().UtcTicks;
        var last = Interlocked.Read(ref _lastWarningTicks);
        if (last == long.MinValue || now - last >= WarningEvery.Ticks)
        {
            Interlocked.Exchange(ref _lastWarningTicks, now);
            UploadLog.Unreachable(_logger, _options.Correlator, reason, delaySeconds, buffered);
        }
        else if (_logger.IsEnabled(LogLevel.Debug))
        {
            UploadLog.StillUnreachable(_logger, _options.Correlator, reason, delaySeconds, buffered);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// One stream. Returns true when it ended by draining on stop, false when an established
    /// session broke (reconnect at once); throws when the correlator could not be reached or the
    /// session was too short to count (Polly backs off).
    /// </summary>
    private async ValueTask<bool> RunSessionAsync(CancellationToken cancellationToken)
    {
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = _client.Connect(cancellationToken: session.Token);
        var helloNext = Outbox.FirstSeq;
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = BuildHello(helloNext) }, session.Token);

        Welcome welcome;
        using (var welcomeWait = new CancellationTokenSource(WelcomeTimeout, _time))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(welcomeWait.Token, session.Token))
        {
            try
            {
                if (!await call.ResponseStream.MoveNext(linked.Token))
                {
                    throw new SessionException("the correlator closed the stream before its welcome");
                }
            }
            catch (Exception ex) when (welcomeWait.IsCancellationRequested && !session.IsCancellationRequested)
            {
                throw new SessionException("no welcome from the correlator within 10 s", ex);
            }

            welcome = call.ResponseStream.Current.Welcome
                ?? throw new SessionException($"the correlator answered the hello with {call.ResponseStream.Current.BodyCase}, not a welcome");
        }

        Outbox.AckThrough(welcome.ResumeAfterSeq);
        Connected = true;
        Interlocked.Exchange(ref _lastWarningTicks, long.MinValue);
        var started = _time.GetUtcNow();
        UploadLog.Connected(_logger, _options.Correlator, welcome.CorrelatorVersion, welcome.AgentId, welcome.ResumeAfterSeq, Outbox.Buffered);
        CheckReplayFinished();

        var receive = ReceiveLoopAsync(call, session.Token);
        var send = SendLoopAsync(call, Math.Max(welcome.ResumeAfterSeq + 1, helloNext), session.Token);
        var first = await Task.WhenAny(receive, send);
        if (first == send && send.IsCompletedSuccessfully)
        {
            // The request stream is complete; give the correlator a moment to send its last acks.
            await receive.WaitAsync(TimeSpan.FromSeconds(2), _time, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            Connected = false;
            return true;
        }

        await session.CancelAsync();
        await Task.WhenAll(receive, send).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Connected = false;
        var failure = first.Exception?.GetBaseException() ?? new SessionException("the correlator closed the stream");
        cancellationToken.ThrowIfCancellationRequested();
        if (_time.GetUtcNow() - started < ShortSession)
        {
            throw failure is SessionException or RpcException ? failure : new SessionException(failure.Message, failure);
        }

        var reasonText = UploadRetry.Describe(failure);
        UploadLog.SessionEnded(_logger, _options.Correlator, reasonText);
        return false;
    }

    private async Task ReceiveLoopAsync(AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var message = call.ResponseStream.Current;
            if (message.BodyCase == CorrelatorMessage.BodyOneofCase.Ack)
            {
                var ack = message.Ack;
                if (ack.Rejected > 0)
                {
                    UploadLog.Rejected(_logger, ack.Rejected, ack.Seq, ack.RejectReason);
                }

                Outbox.AckThrough(ack.Seq);
                Wake();
                CheckReplayFinished();
            }

            else if (message.BodyCase == CorrelatorMessage.BodyOneofCase.Control)
            {
                // Commands this agent does not know (a newer correlator) are ignored by the handlers.
                ControlReceived?.Invoke(message.Control);
            }
        }

        throw new SessionException("the correlator closed the stream");
    }

    private async Task SendLoopAsync(AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call, ulong nextSeq, CancellationToken cancellationToken)
    {
        var nextHeartbeat = _time.GetUtcNow();
        while (true)
        {
            while (_controlResults.Reader.TryRead(out var result))
            {
                await call.RequestStream.WriteAsync(new AgentMessage { ControlResult = result }, cancellationToken);
            }

            while (Outbox.TryGetAfter(nextSeq - 1, out var batch))
            {
                if (batch.Seq != nextSeq)
                {
                    // The outbox overflowed and dropped batches this stream has not carried yet: a
                    // new Hello restarts the contiguous numbering.
                    throw new SessionException($"buffer overflow dropped batches {nextSeq}..{batch.Seq - 1}");
                }

                await call.RequestStream.WriteAsync(new AgentMessage { Batch = ToProto(batch) }, cancellationToken);
                nextSeq++;
            }

            var now = _time.GetUtcNow();
            if (now >= nextHeartbeat)
            {
                await call.RequestStream.WriteAsync(new AgentMessage { Heartbeat = BuildHeartbeat(now) }, cancellationToken);
                nextHeartbeat = now + _options.HeartbeatInterval;
            }

            if (_draining && ((_batcherDone && Outbox.IsEmpty) || now.UtcTicks >= Interlocked.Read(ref _drainDeadlineTicks)))
            {
                await call.RequestStream.CompleteAsync();
                return;
            }

            var wait = nextHeartbeat - now;
            if (_draining && wait > TimeSpan.FromMilliseconds(100))
            {
                wait = TimeSpan.FromMilliseconds(100);
            }

            using var timer = new CancellationTokenSource(wait, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
            try
            {
                await _wake.Reader.ReadAsync(linked.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // heartbeat or drain check due
            }
        }
    }

    private void CheckReplayFinished()
    {
        if (_options.ReplayOnly && _batcherDone && Outbox.IsEmpty && Connected && _lifetime is not null
            && Interlocked.Exchange(ref _replayStopRequested, 1) == 0)
        {
            UploadLog.ReplayAcked(_logger);
            _lifetime.StopApplication();
        }
    }

    private Hello BuildHello(ulong nextSeq)
    {
        var hello = new Hello
        {
            Node = _options.Node,
            AgentVersion = _version,
            InstanceId = InstanceId,
            Clock = _clock.Read(),
            Hostname = Environment.MachineName,
            NextSeq = nextSeq,
            CanProbe = CanProbe,
        };
        hello.Interfaces.AddRange(_interfaces.ToInfos());
        return hello;
    }

    private Heartbeat BuildHeartbeat(DateTimeOffset now)
    {
        var heartbeat = new Heartbeat
        {
            TsNs = (now.UtcTicks - DateTime.UnixEpoch.Ticks) * 100,
            UploadDropped = (ulong)Outbox.Dropped,
            Buffered = (ulong)(Outbox.Buffered + (_queue.Reader.CanCount ? _queue.Reader.Count : 0)),
            Clock = _clock.Read(),
        };
        heartbeat.Interfaces.AddRange(_interfaces.Snapshot());
        return heartbeat;
    }

    private static ObservationBatch ToProto(OutboxBatch batch)
    {
        var message = new ObservationBatch { Seq = batch.Seq };
        foreach (var captured in batch.Observations)
        {
            message.Observations.Add(captured.Observation.ToProto(captured.WireLength, captured.Vlan));
        }

        return message;
    }
}
