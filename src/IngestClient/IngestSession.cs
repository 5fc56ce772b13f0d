using System.Threading.Channels;
using Grpc.Core;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;
using Polly;
using Polly.Retry;

namespace HopCapture.IngestClient;

/// <summary>
/// One ingest client, async end to end: opens the Connect stream, sends the Hello and waits for
/// the Welcome, resumes after <c>Welcome.resume_after_seq</c>, sends the source's sealed batches
/// with contiguous seqs (and heartbeats and control results), hands acks and control commands to
/// the observer (batches with packed observations as repeated ones to a correlator whose Welcome
/// does not accept packed), and reconnects with backoff (<see cref="IngestRetry"/>) re-sending whatever is
/// not acked. <see cref="RunAsync"/> ends once the source is completed and every batch is acked
/// (or the flush deadline passed), with <see cref="IngestRefusedException"/> when the correlator
/// refuses this client, or when the caller cancels.
/// </summary>
public sealed class IngestSession
{
    private static readonly TimeSpan FlushPoll = TimeSpan.FromMilliseconds(100);

    private readonly Ingest.IngestClient _client;
    private readonly IIngestBatchSource _source;
    private readonly Func<ulong, Hello> _hello;
    private readonly IngestSessionOptions _options;
    private readonly IIngestSessionObserver _observer;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _retry;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Channel<ControlResult> _results = Channel.CreateBounded<ControlResult>(
        new BoundedChannelOptions(1024) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true });
    private long _flushDeadlineTicks = long.MaxValue;
    private int _attempts;
    private volatile bool _connected;

    /// <param name="client">The Ingest client on a channel the caller owns.</param>
    /// <param name="source">Where sealed batches come from; acks are applied to it.</param>
    /// <param name="hello">Builds the Hello for a new stream from its first seq (<c>next_seq</c>).</param>
    public IngestSession(
        Ingest.IngestClient client,
        IIngestBatchSource source,
        Func<ulong, Hello> hello,
        IngestSessionOptions? options = null,
        IIngestSessionObserver? observer = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(hello);
        _client = client;
        _source = source;
        _hello = hello;
        _options = options ?? new IngestSessionOptions();
        _observer = observer ?? NoObserver.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _retry = IngestRetry.Build(_time, _options.MaxRetryAttempts, OnRetryAsync);
    }

    /// <summary>True while a stream is established (Welcome received).</summary>
    public bool Connected => _connected;

    /// <summary>Streams opened so far (each Connect call counts).</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Something to send: a batch was sealed, the source completed, a result is queued.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    /// <summary>Queues a control result for the correlator (sent on the current or next stream).</summary>
    public void Report(ControlResult result)
    {
        _results.Writer.TryWrite(result);
        Wake();
    }

    /// <summary>
    /// Completes the stream at <paramref name="deadline"/> even if batches are still un-acked, so a
    /// stop is bounded; until then the session keeps sending and waiting for acks.
    /// </summary>
    public void FlushBy(DateTimeOffset deadline)
    {
        Interlocked.Exchange(ref _flushDeadlineTicks, deadline.UtcTicks);
        Wake();
    }

    /// <summary>Runs streams until the source is drained; see the class summary for how it ends.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            bool drained;
            try
            {
                drained = await _retry.ExecuteAsync(RunStreamAsync, cancellationToken);
            }
            catch (Exception ex) when (IngestRetry.Classify(ex, cancellationToken) == IngestFailureKind.Cancelled && ex is not OperationCanceledException)
            {
                throw new OperationCanceledException("the ingest session was cancelled", ex, cancellationToken);
            }
            catch (RpcException ex) when (IngestRetry.Classify(ex, cancellationToken) == IngestFailureKind.Refused)
            {
                throw new IngestRefusedException(ex);
            }

            if (drained)
            {
                return;
            }
        }
    }

    private ValueTask OnRetryAsync(OnRetryArguments<object> args)
    {
        _connected = false;
        var reason = args.Outcome.Exception is { } ex ? IngestRetry.Describe(ex) : "unknown";
        _observer.Retrying(reason, args.RetryDelay);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// One stream. Returns true when it ended by draining, false when an established stream broke
    /// after a while (reconnect at once); throws when the correlator could not be reached or the
    /// stream was too short to count (Polly decides).
    /// </summary>
    private async ValueTask<bool> RunStreamAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attempts);
        using var stream = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var call = _client.Connect(cancellationToken: stream.Token);
        var helloNext = _source.FirstSeq;
        // Read before the Hello is built: a change racing it is sent again, never lost.
        var interfacesSent = InterfacesVersion();
        await call.RequestStream.WriteAsync(new AgentMessage { Hello = _hello(helloNext) }, stream.Token);
        var welcome = await ReadWelcomeAsync(call, stream.Token);

        _source.AckThrough(welcome.ResumeAfterSeq);
        _connected = true;
        var started = _time.GetUtcNow();
        _observer.Connected(welcome);

        var receive = ReceiveLoopAsync(call, stream.Token);
        var send = SendLoopAsync(call, Math.Max(welcome.ResumeAfterSeq + 1, helloNext), interfacesSent, welcome.AcceptsPacked, stream.Token);
        var first = await Task.WhenAny(receive, send);
        if (first == send && send.IsCompletedSuccessfully)
        {
            // The request stream is complete; give the correlator a moment to send its last acks and close.
            await receive.WaitAsync(_options.FinalAckTimeout, _time, CancellationToken.None).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _connected = false;
            return true;
        }

        await stream.CancelAsync();
        await Task.WhenAll(receive, send).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _connected = false;
        cancellationToken.ThrowIfCancellationRequested();
        var failure = Cause(receive, send);
        if (IngestRetry.Classify(failure, cancellationToken) != IngestFailureKind.Transient
            || _time.GetUtcNow() - started < _options.ShortSession)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        _observer.Reconnecting(IngestRetry.Describe(failure));
        return false;
    }

    private async Task<Welcome> ReadWelcomeAsync(AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call, CancellationToken cancellationToken)
    {
        using var welcomeWait = new CancellationTokenSource(_options.WelcomeTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(welcomeWait.Token, cancellationToken);
        try
        {
            if (!await call.ResponseStream.MoveNext(linked.Token))
            {
                throw new IngestSessionException("the correlator closed the stream before its welcome");
            }
        }
        catch (Exception ex) when (welcomeWait.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new IngestSessionException($"no welcome from the correlator within {_options.WelcomeTimeout.TotalSeconds:0.#} s", ex);
        }

        return call.ResponseStream.Current.Welcome
            ?? throw new IngestSessionException($"the correlator answered the hello with {call.ResponseStream.Current.BodyCase}, not a welcome");
    }

    /// <summary>
    /// Why a stream broke: the correlator's status when either side saw one (a write can fail
    /// first, without it), else the session's own reason.
    /// </summary>
    private static Exception Cause(Task receive, Task send)
    {
        Exception? fallback = null;
        foreach (var task in new[] { receive, send })
        {
            var ex = task.Exception?.GetBaseException();
            if (ex is RpcException { StatusCode: not StatusCode.Cancelled })
            {
                return ex;
            }

            if (ex is not null and not OperationCanceledException && fallback is null)
            {
                fallback = ex;
            }
        }

        return fallback ?? new IngestSessionException("the correlator closed the stream");
    }

    private async Task ReceiveLoopAsync(AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call, CancellationToken cancellationToken)
    {
        while (await call.ResponseStream.MoveNext(cancellationToken))
        {
            var message = call.ResponseStream.Current;
            switch (message.BodyCase)
            {
                case CorrelatorMessage.BodyOneofCase.Ack:
                    _source.AckThrough(message.Ack.Seq);
                    _observer.Acked(message.Ack);
                    Wake();
                    break;
                case CorrelatorMessage.BodyOneofCase.Control:
                    _observer.ControlReceived(message.Control);
                    break;
                default:
                    // Messages from a newer correlator: nothing to do.
                    break;
            }
        }

        throw new IngestSessionException("the correlator closed the stream");
    }

    private long InterfacesVersion() => _options.InterfacesVersion?.Invoke() ?? 0;

    private async Task SendLoopAsync(
        AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call, ulong nextSeq, long interfacesSent, bool acceptsPacked, CancellationToken cancellationToken)
    {
        var heartbeat = _options.Heartbeat;
        var nextHeartbeat = _time.GetUtcNow();
        while (true)
        {
            while (_results.Reader.TryRead(out var result))
            {
                await call.RequestStream.WriteAsync(new AgentMessage { ControlResult = result }, cancellationToken);
            }

            interfacesSent = await SendInterfacesIfChangedAsync(call, interfacesSent, cancellationToken);
            while (_source.TryGetAfter(nextSeq - 1, out var batch))
            {
                // The batch exists, so whatever appended an index it uses happened before: a
                // version read now sees that append, and the table goes out ahead of the batch.
                interfacesSent = await SendInterfacesIfChangedAsync(call, interfacesSent, cancellationToken);
                if (batch.Seq != nextSeq)
                {
                    // The source dropped batches this stream has not carried yet (a full buffer): a
                    // new Hello restarts the contiguous numbering.
                    throw new IngestSessionException($"batches {nextSeq}..{batch.Seq - 1} were dropped before they were sent");
                }

                // A correlator from before packed batches would ack the records it cannot see as an empty batch.
                var sent = acceptsPacked || batch.Packed.IsEmpty ? batch : PackedObservations.Unpacked(batch);
                await call.RequestStream.WriteAsync(new AgentMessage { Batch = sent }, cancellationToken);
                nextSeq++;
            }

            var now = _time.GetUtcNow();
            if (heartbeat is not null && now >= nextHeartbeat)
            {
                await call.RequestStream.WriteAsync(new AgentMessage { Heartbeat = heartbeat(now) }, cancellationToken);
                nextHeartbeat = now + _options.HeartbeatInterval;
            }

            var flushDeadline = Interlocked.Read(ref _flushDeadlineTicks);
            if ((_source.IsCompleted && _source.IsEmpty) || now.UtcTicks >= flushDeadline)
            {
                await call.RequestStream.CompleteAsync();
                return;
            }

            // Wait for a wake (a sealed batch, an ack, a result), the next heartbeat, or, while
            // flushing, the deadline.
            var wait = heartbeat is null ? Timeout.InfiniteTimeSpan : nextHeartbeat - now;
            if (flushDeadline != long.MaxValue && (wait == Timeout.InfiniteTimeSpan || wait > FlushPoll))
            {
                wait = FlushPoll;
            }

            if (wait == Timeout.InfiniteTimeSpan)
            {
                await _wake.Reader.ReadAsync(cancellationToken);
                continue;
            }

            using var timer = new CancellationTokenSource(wait > TimeSpan.Zero ? wait : TimeSpan.Zero, _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, cancellationToken);
            try
            {
                await _wake.Reader.ReadAsync(linked.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // heartbeat or flush check due
            }
        }
    }

    private async Task<long> SendInterfacesIfChangedAsync(
        AsyncDuplexStreamingCall<AgentMessage, CorrelatorMessage> call, long sent, CancellationToken cancellationToken)
    {
        var version = InterfacesVersion();
        if (version == sent || _options.Interfaces is null)
        {
            return sent;
        }

        var changed = new InterfacesChanged();
        changed.Interfaces.AddRange(_options.Interfaces());
        await call.RequestStream.WriteAsync(new AgentMessage { Interfaces = changed }, cancellationToken);
        return version;
    }

    private sealed class NoObserver : IIngestSessionObserver
    {
        public static readonly NoObserver Instance = new();
    }
}
