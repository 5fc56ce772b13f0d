using System.Reflection;
using Grpc.Net.Client;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Clock;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Spool;
using HopCapture.IngestClient;
using HopCapture.Protos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Upload;

/// <summary>
/// Streams observations to the correlator through one <see cref="IngestSession"/>: the batcher
/// seals what capture queues into the on-disk <see cref="SpoolBatchSource"/>, the session sends,
/// resends after a reconnect (or an agent restart) and deletes what is acked. Stop flushes for a bounded time, then completes the
/// stream, so `systemctl stop` loses nothing that could be delivered. A correlator that refuses
/// this agent (its node name, its Hello) stops the host: see <see cref="Failure"/>.
/// </summary>
public sealed class IngestUploader : IHostedService, IAsyncDisposable, IIngestSessionObserver
{
    private static readonly TimeSpan WarningEvery = TimeSpan.FromSeconds(30);

    private readonly AgentOptions _options;
    private readonly ObservationQueue _queue;
    private readonly AgentInterfaces _interfaces;
    private readonly ClockReader _clock;
    private readonly TimeProvider _time;
    private readonly ILogger<IngestUploader> _logger;
    private readonly IHostApplicationLifetime? _lifetime;
    private readonly GrpcChannel _channel;
    private readonly IngestSession _session;
    private readonly CancellationTokenSource _hardStop = new();
    private readonly string _version = typeof(IngestUploader).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
    private Task _batcher = Task.CompletedTask;
    private Task _connection = Task.CompletedTask;
    private volatile bool _draining;
    private volatile bool _batcherDone;
    private long _lastWarningTicks = long.MinValue;
    private int _replayStopRequested;
    private int _disposed;

    public IngestUploader(
        IOptions<AgentOptions> options,
        ObservationQueue queue,
        AgentInterfaces interfaces,
        ClockReader clock,
        AgentStateDirectory state,
        SpoolBatchSource spool,
        TimeProvider timeProvider,
        ILogger<IngestUploader> logger,
        IHostApplicationLifetime? lifetime = null)
    {
        ArgumentNullException.ThrowIfNull(state);
        InstanceId = state.InstanceId;
        Spool = spool;
        _options = options.Value;
        _queue = queue;
        _interfaces = interfaces;
        _clock = clock;
        _time = timeProvider;
        _logger = logger;
        _lifetime = lifetime;
        _channel = IngestChannels.Create(
            _options.Correlator,
            CorrelatorCredentials.For(new Uri(_options.Correlator), _options.Tls, AgentOptions.TlsNames, time: _time));
        _session = new IngestSession(
            new Ingest.IngestClient(_channel),
            Spool,
            BuildHello,
            new IngestSessionOptions
            {
                Heartbeat = BuildHeartbeat,
                HeartbeatInterval = _options.HeartbeatInterval,
                InterfacesVersion = () => _interfaces.Version,
                Interfaces = _interfaces.ToInfos,
            },
            this,
            _time);
        // A state change (a tap vanished) reaches the correlator now, not with the next batch.
        _interfaces.Changed += _session.Wake;
    }

    /// <summary>Kept in the state directory: the correlator continues this agent's seq numbering across restarts.</summary>
    public string InstanceId { get; }

    /// <summary>Sealed batches until acked, on disk.</summary>
    public SpoolBatchSource Spool { get; }

    /// <summary>True while a session is established (Welcome received).</summary>
    public bool Connected => _session.Connected;

    /// <summary>Why uploading stopped for good (and stopped the host); null while it runs or after a normal stop.</summary>
    public UploadFailure? Failure { get; private set; }

    /// <summary>Raised on the receive loop for every control command from the correlator; handlers must not block.</summary>
    public event Action<Control>? ControlReceived;

    /// <summary>Sent in Hello: this agent runs the active prober.</summary>
    public bool CanProbe { get; set; }

    /// <summary>Host evidence the heartbeats carry (issue 15); none when null.</summary>
    public Evidence.HostEvidenceBuffer? Evidence { get; init; }

    /// <summary>Queues a control result for the correlator (sent on the current or next stream).</summary>
    public void Report(ControlResult result) => _session.Report(result);

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
        // seals the tail and the session keeps sending until the spool is acked or time is up;
        // what is not acked by then stays in the spool for the next start.
        _session.FlushBy(_time.GetUtcNow() + FlushTimeout);
        _draining = true;
        _queue.Complete();
        using var timeout = new CancellationTokenSource(FlushTimeout + TimeSpan.FromSeconds(1), _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        await _batcher.WaitAsync(linked.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Spool.Complete();
        _session.Wake();
        await _connection.WaitAsync(linked.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (!Spool.IsEmpty && Failure is null)
        {
            UploadLog.FlushIncomplete(_logger, Spool.PendingObservations);
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

    void IIngestSessionObserver.Connected(Welcome welcome)
    {
        Interlocked.Exchange(ref _lastWarningTicks, long.MinValue);
        UploadLog.Connected(_logger, _options.Correlator, welcome.CorrelatorVersion, welcome.AgentId, welcome.ResumeAfterSeq, Spool.PendingObservations);
        CheckReplayFinished();
    }

    void IIngestSessionObserver.Acked(Ack ack)
    {
        if (ack.Rejected > 0)
        {
            UploadLog.Rejected(_logger, ack.Rejected, ack.Seq, ack.RejectReason);
        }

        CheckReplayFinished();
    }

    // Commands this agent does not know (a newer correlator) are ignored by the handlers.
    void IIngestSessionObserver.ControlReceived(Control control) => ControlReceived?.Invoke(control);

    void IIngestSessionObserver.Retrying(string reason, TimeSpan delay)
    {
        var delaySeconds = Math.Round(delay.TotalSeconds, 1);
        var buffered = Spool.PendingObservations;
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
    }

    void IIngestSessionObserver.Reconnecting(string reason) => UploadLog.SessionEnded(_logger, _options.Correlator, reason);

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
            CheckReplayFinished();
        }
    }

    private void Seal(CapturedObservation[] buffer, ref int count)
    {
        if (count == 0)
        {
            return;
        }

        Spool.Seal(buffer.AsSpan(0, count));
        count = 0;
        _session.Wake();
    }

    private async Task ConnectionLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _session.RunAsync(cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (IngestRefusedException ex)
        {
            // Retrying cannot help (a node name outside AllowedNodes, a bad Hello): a configuration
            // error, so the host stops and the process exits 2, which systemd does not restart.
            Stop(new UploadFailure($"the correlator at {_options.Correlator} refused this agent: {ex.Message}", Refused: true));
        }
        catch (Exception ex)
        {
            Stop(new UploadFailure($"upload to the correlator at {_options.Correlator} failed: {IngestRetry.Describe(ex)}", Refused: false));
        }
    }

    private void Stop(UploadFailure failure)
    {
        Failure = failure;
        UploadLog.Stopped(_logger, failure.Message);
        _lifetime?.StopApplication();
    }

    private void CheckReplayFinished()
    {
        if (_options.ReplayOnly && _batcherDone && Spool.IsEmpty && Connected && _lifetime is not null
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
        // Heartbeats are not acked: a new stream carries all the evidence still held again.
        Evidence?.ResendAll();
        return hello;
    }

    private Heartbeat BuildHeartbeat(DateTimeOffset now)
    {
        var heartbeat = new Heartbeat
        {
            TsNs = (now.UtcTicks - DateTime.UnixEpoch.Ticks) * 100,
            UploadDropped = (ulong)Spool.DroppedObservations,
            Buffered = (ulong)(Spool.PendingObservations + (_queue.Reader.CanCount ? _queue.Reader.Count : 0)),
            Clock = _clock.Read(),
            Spool = Spool.Statistics(),
        };
        heartbeat.Interfaces.AddRange(_interfaces.Snapshot());
        if (Evidence is not null)
        {
            heartbeat.Evidence.AddRange(Evidence.TakeUnsent());
        }

        return heartbeat;
    }
}

/// <summary>Why the uploader stopped the host: one line for the operator; <paramref name="Refused"/> when it is a configuration error.</summary>
public sealed record UploadFailure(string Message, bool Refused);
