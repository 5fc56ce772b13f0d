using System.Runtime.CompilerServices;
using HopCapture.Correlator.Hosting;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Ingest;

/// <summary>
/// Bounds, in bytes, the accepted batches between the ingest streams and the engine (the
/// journal's queue and the engine's queue together; <see cref="CorrelatorOptions.IngestQueueBytes"/>).
/// A stream takes its batch's share before queueing it and waits while the budget is spent: its
/// acks stop, so the agent slows down and its spool holds the rest. The engine gives the share
/// back when it takes the batch. Counting batches instead let a burst of large batches hold
/// hundreds of megabytes.
/// </summary>
/// <remarks>
/// Waiting streams are let in most-behind first (<see cref="AcquireAsync(long, BatchSpan, CancellationToken)"/>),
/// not first come first served. Under overload, turn-taking by batch let an agent with one capture
/// point run ahead of one with two (half the observations per probe, the same batch rate) until
/// their halves of the same probes reached the engine seconds apart and the probes were cut in two.
/// Equally behind streams keep their arrival order.
/// <para>
/// Most-behind-first alone was not enough: a stream waits here only with a batch in hand, and a
/// share given back while the laggard's next batch was still on its way went to a stream ahead.
/// Against a store that took ~450 k obs/s of the 1.1 M offered, the two-point agents fell 1–1.4 s
/// of capture time behind the one-point agents, several seconds of arrival time, and 3 of every 10
/// observations came after their probes had timed out. So once the budget is half spent, a batch more than
/// <see cref="Slack"/> ahead of a stream that is behind it and was let in during the last
/// <see cref="IdleAfter"/> waits for that stream's next batch, for at most <see cref="MaxHold"/>.
/// A stream more than Engine:ProbeTimeout behind holds no one (its halves are late anyway: an agent
/// replaying its spool after an outage must not slow the live ones).
/// </para>
/// </remarks>
public sealed class IngestQueueBudget : IDisposable
{
    /// <summary>
    /// How far ahead of a lagging stream (capture time, on the correlator's clock) a batch may go
    /// when the budget is contended. At 100 ms the holds slowed the SQLite benchmark (p50 ~0.6 s, a
    /// run's p99 1.6 s); at 500 ms 0.7–1 M observations a run still came late against PostgreSQL.
    /// </summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(250);

    /// <summary>How long a batch ahead waits at most for the lagging stream's next batch.</summary>
    public static readonly TimeSpan MaxHold = TimeSpan.FromMilliseconds(250);

    /// <summary>A stream let in less recently than this holds no one (it has stopped sending, for now).</summary>
    public static readonly TimeSpan IdleAfter = TimeSpan.FromSeconds(1);

    // A stream let in less recently than this is forgotten (a node renamed or removed).
    private static readonly long ForgetAfterNs = 60 * (long)IdleAfter.TotalNanoseconds;

    /// <summary>What one queued observation costs: its engine form plus its journal record.</summary>
    public static readonly int BytesPerObservation = Unsafe.SizeOf<Observation>() + 2 + ObservationLayout.BodyBytes;

    private readonly long _capacity;
    private readonly long _relevantNs;
    private readonly TimeProvider _time;
    private readonly ITimer _recheck;
    private readonly Lock _gate = new();
    private readonly List<Waiter> _waiting = [];
    private readonly Dictionary<string, StreamMark> _streams = new(StringComparer.Ordinal);
    private long _used;
    private long _arrivals;
    private long _held;
    private long _nextPruneNs;

    public IngestQueueBudget(IOptions<CorrelatorOptions> options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _capacity = options.Value.IngestQueueBytes;
        _relevantNs = (long)options.Value.Engine.ProbeTimeout.TotalNanoseconds;
        _time = timeProvider ?? TimeProvider.System;
        _recheck = _time.CreateTimer(static state => ((IngestQueueBudget)state!).Recheck(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    public long Capacity => _capacity;

    /// <summary>Bytes held by queued batches now.</summary>
    public long Used
    {
        get
        {
            lock (_gate)
            {
                return _used;
            }
        }
    }

    /// <summary>Times a batch waited for a lagging stream's next batch (<see cref="MaxHold"/>).</summary>
    public long Held => Interlocked.Read(ref _held);

    public void Dispose() => _recheck.Dispose();

    public static long Cost(int observations) => (long)observations * BytesPerObservation;

    /// <summary>Takes <paramref name="bytes"/> for a batch of no stream, in arrival order; see <see cref="AcquireAsync(long, BatchSpan, CancellationToken)"/>.</summary>
    public Task AcquireAsync(long bytes, CancellationToken cancellationToken)
    {
        var now = _time.NowNs();
        return AcquireAsync(bytes, new BatchSpan(null, now, now), cancellationToken);
    }

    /// <summary>
    /// Takes <paramref name="bytes"/>; waits while they do not fit (a batch larger than the whole
    /// budget goes alone, when nothing else is queued). Among waiting streams the one whose batch
    /// starts furthest back (<see cref="BatchSpan.FromNs"/>) goes first; see the remarks for when a
    /// batch that fits waits for a lagging stream.
    /// </summary>
    public Task AcquireAsync(long bytes, BatchSpan span, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            var now = _time.NowNs();
            if (_waiting.Count == 0 && Fits(bytes) && !Contended(bytes))
            {
                Take(bytes, span, now);
                return Task.CompletedTask;
            }

            var waiter = new Waiter(bytes, span, _arrivals++, now);
            _waiting.Add(waiter);
            if (cancellationToken.CanBeCanceled)
            {
                // A cancelled waiter stays listed until the next grant, where it is dropped.
                var registration = cancellationToken.Register(() => waiter.Granted.TrySetCanceled(cancellationToken));
                _ = waiter.Granted.Task.ContinueWith(_ => registration.Dispose(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }

            Grant(now);
            return waiter.Granted.Task;
        }
    }

    /// <summary>Gives back what a batch took, and lets waiting streams in that now fit.</summary>
    public void Release(long bytes)
    {
        if (bytes == 0)
        {
            return;
        }

        lock (_gate)
        {
            _used -= bytes;
            Grant(_time.NowNs());
        }
    }

    private void Recheck()
    {
        lock (_gate)
        {
            Grant(_time.NowNs());
        }
    }

    /// <summary>Lets waiters in, most behind first, while the first of them fits and no lagging stream holds it (under the lock).</summary>
    private void Grant(long nowNs)
    {
        _waiting.RemoveAll(static w => w.Granted.Task.IsCompleted);
        while (_waiting.Count > 0)
        {
            var next = 0;
            for (var i = 1; i < _waiting.Count; i++)
            {
                if (_waiting[i].Before(_waiting[next]))
                {
                    next = i;
                }
            }

            var head = _waiting[next];
            if (!head.Granted.Task.IsCompleted)
            {
                if (!Fits(head.Bytes))
                {
                    return;
                }

                var holdLeft = HoldLeft(head, nowNs);
                if (holdLeft > 0)
                {
                    // Every other waiter is further ahead: all wait for the lagging stream, or the hold's end.
                    _recheck.Change(TimeSpan.FromTicks(Math.Max(1, holdLeft / 100)), Timeout.InfiniteTimeSpan);
                    return;
                }
            }

            _waiting.RemoveAt(next);
            if (head.Granted.TrySetResult())
            {
                Take(head.Bytes, head.Span, nowNs);
            }
        }
    }

    /// <summary>Nanoseconds <paramref name="head"/> is still to wait for a stream behind it; 0 when none holds it.</summary>
    private long HoldLeft(Waiter head, long nowNs)
    {
        var left = head.SinceNs + (long)MaxHold.TotalNanoseconds - nowNs;
        if (head.Span.Stream is null || head.Bytes == 0 || left <= 0 || !Contended(head.Bytes))
        {
            return 0;
        }

        var idleNs = (long)IdleAfter.TotalNanoseconds;
        var slackNs = (long)Slack.TotalNanoseconds;
        foreach (var (stream, mark) in _streams)
        {
            var aheadNs = head.Span.FromNs - mark.ThroughNs;
            if (stream != head.Span.Stream
                && nowNs - mark.LetInNs < idleNs
                && aheadNs > slackNs
                && aheadNs < _relevantNs
                && !IsWaiting(stream))
            {
                if (!head.Counted)
                {
                    head.Counted = true;
                    Interlocked.Increment(ref _held);
                }

                return left;
            }
        }

        return 0;
    }

    private bool IsWaiting(string stream)
    {
        foreach (var waiter in _waiting)
        {
            if (waiter.Span.Stream == stream && !waiter.Granted.Task.IsCompleted)
            {
                return true;
            }
        }

        return false;
    }

    private void Take(long bytes, BatchSpan span, long nowNs)
    {
        _used += bytes;
        if (span.Stream is null)
        {
            return;
        }

        _streams[span.Stream] = new StreamMark(
            _streams.TryGetValue(span.Stream, out var mark) ? Math.Max(mark.ThroughNs, span.ThroughNs) : span.ThroughNs, nowNs);
        if (nowNs >= _nextPruneNs)
        {
            _nextPruneNs = nowNs + ForgetAfterNs;
            foreach (var (stream, old) in _streams)
            {
                if (nowNs - old.LetInNs > ForgetAfterNs)
                {
                    _streams.Remove(stream);
                }
            }
        }
    }

    private bool Fits(long bytes) => _used == 0 || _used + bytes <= _capacity;

    /// <summary>Whether the budget, with <paramref name="bytes"/> more, would be over half spent: streams are rationed.</summary>
    private bool Contended(long bytes) => _used + bytes > _capacity / 2;

    private readonly record struct StreamMark(long ThroughNs, long LetInNs);

    private sealed class Waiter(long bytes, BatchSpan span, long arrival, long sinceNs)
    {
        public long Bytes { get; } = bytes;

        public TaskCompletionSource Granted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public BatchSpan Span { get; } = span;

        public long Arrival { get; } = arrival;

        public long SinceNs { get; } = sinceNs;

        public bool Counted { get; set; }

        public bool Before(Waiter other) => Span.FromNs != other.Span.FromNs ? Span.FromNs < other.Span.FromNs : Arrival < other.Arrival;
    }
}

/// <summary>
/// Where a batch lies in its stream (<paramref name="Stream"/>: the node; null for none): the
/// capture times of its oldest and newest observation moved onto the correlator's clock by the
/// stream's usual lag (<see cref="AgentState.Span"/>), so streams whose clocks differ compare.
/// </summary>
public readonly record struct BatchSpan(string? Stream, long FromNs, long ThroughNs);
