using HopCapture.Analysis.Driver;
using HopCapture.Analysis.Probes;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Journal;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Correlation;

/// <summary>
/// Owns the <see cref="EngineDriver"/>: the only thread that touches the engine. Feeds it the
/// ingested observations, turns it every <see cref="AdvanceInterval"/> and after each burst of
/// batches, and hands finalised probes to the store writer. After each turn it tells the
/// <see cref="JournalCheckpoints"/> which journalled batches can have no probe in flight any more.
/// </summary>
public sealed partial class EngineHost : BackgroundService
{
    public static readonly TimeSpan AdvanceInterval = EngineDriver.AdvanceEvery;

    // Upper bound of batches taken before the engine is advanced again, so finalisation keeps
    // up under a steady stream of batches.
    private const int BatchesPerTurn = 64;

    // Least wait while the engine is full, so a turn held behind a waiting batch does not spin.
    private static readonly TimeSpan HeldBackWait = TimeSpan.FromMilliseconds(10);

    private readonly EngineDriver _driver;
    private readonly CorrelatorChannels _channels;
    private readonly JournalCheckpoints _checkpoints;
    private readonly Ingest.IngestQueueBudget _budget;
    private readonly long _timeoutNs;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EngineHost> _logger;
    private readonly List<Probe> _finalized = [];
    private long _errors;
    private long _published;
    private long _heldBack;
    private bool _full;
    private readonly Func<IngestBatch, bool> _fits;
    private readonly Action<IngestBatch> _join;

    // Waiting batches are searched for joining halves after a turn or a take while full, at most
    // once per AdvanceInterval: a search reads every waiting observation (~150,000 at the default
    // byte budget, ~10 ms), and searching after every take kept the engine's core busy with it.
    private bool _joinDue = true;
    private long _nextJoinNs;
    private long _joinedWhileFull;
    private int _inFlight;
    private IReadOnlyList<OffsetPair> _offsets = [];

    public EngineHost(
        IOptions<CorrelatorOptions> options,
        InterfaceCatalog catalog,
        CorrelatorChannels channels,
        JournalCheckpoints checkpoints,
        Ingest.IngestQueueBudget budget,
        TimeProvider timeProvider,
        ILogger<EngineHost> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _driver = new EngineDriver(options.Value.Engine, catalog);
        _timeoutNs = (long)options.Value.Engine.ProbeTimeout.TotalNanoseconds;
        _channels = channels;
        _checkpoints = checkpoints;
        _budget = budget;
        _timeProvider = timeProvider;
        _logger = logger;
        _fits = Fits;
        _join = Join;
    }

    public EngineCounters Counters => _driver.Counters;

    /// <summary>Probes in flight as of the last engine turn (read from any thread).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => _driver.Options.MaxInFlight;

    /// <summary>Clock offsets between adjacent points as of the last engine turn (read from any thread).</summary>
    public IReadOnlyList<OffsetPair> Offsets => Volatile.Read(ref _offsets);

    public InterfaceCatalog Catalog => _driver.Catalog;

    /// <summary>Times the engine left batches queued because it held its limit of probes in flight.</summary>
    public long HeldBack => Interlocked.Read(ref _heldBack);

    /// <summary>Observations the engine took out of batches it passed over, because they join probes in flight.</summary>
    public long JoinedWhileFull => Interlocked.Read(ref _joinedWhileFull);

    /// <summary>Observations or turns the engine threw on (logged, skipped).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var inbox = _channels.Inbox;
        Task<bool>? waitRead = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var taken = Drain(BatchesPerTurn);
                var now = _timeProvider.NowNs();
                if (taken > 0 || _driver.Due(now))
                {
                    // A turn never runs ahead of a batch still waiting that the engine could take:
                    // observations that reached the correlator in time join their probes even when
                    // the engine takes them late (after waiting for the store), instead of the
                    // probes timing out first. When full, the engine needs time to pass to make room.
                    var turn = _full ? now : Math.Min(now, _channels.Inbox.OldestPostedNs);
                    Advance(turn);
                    _joinDue = true;
                    await PublishAsync(CancellationToken.None);
                    // The engine finalises a probe by its first arrival plus the timeout.
                    _checkpoints.Finalised(turn - _timeoutNs, _published);
                }

                if (taken == BatchesPerTurn)
                {
                    continue;
                }

                if (_full)
                {
                    // Batches wait in the inbox until a turn finalises probes, or a stream that
                    // fell behind posts the halves of probes in flight: taken at once, they let
                    // those probes finalise. Waiting for the next turn instead took the halves a
                    // turn (100 ms) late, and the engine crept on at ~0.7 M obs/s, seconds behind.
                    waitRead = null;
                    var posted = inbox.WaitForPostAsync(stoppingToken);
                    var turnDue = Task.Delay(TimeSpan.FromTicks(Math.Clamp((_driver.NextAdvanceNs - _timeProvider.NowNs()) / 100, HeldBackWait.Ticks, AdvanceInterval.Ticks)), _timeProvider, stoppingToken);
                    await Task.WhenAny(posted, turnDue);
                    continue;
                }

                waitRead ??= inbox.WaitToReadAsync(stoppingToken);
                if (!waitRead.IsCompleted)
                {
                    var wait = TimeSpan.FromTicks(Math.Clamp((_driver.NextAdvanceNs - _timeProvider.NowNs()) / 100, 1, AdvanceInterval.Ticks));
                    await Task.WhenAny(waitRead, Task.Delay(wait, _timeProvider, stoppingToken));
                }

                if (waitRead.IsCompleted)
                {
                    if (waitRead.IsCompletedSuccessfully && !waitRead.Result)
                    {
                        break;
                    }

                    waitRead = null;
                }
            }
        }
        finally
        {
            await ShutdownAsync();
        }
    }

    // Stop order puts the gRPC server first, so the ingest streams have ended: what they queued
    // is taken, everything in flight is finalised and stored before the store writer stops.
    private async Task ShutdownAsync()
    {
        try
        {
            // Everything queued is taken, the engine flushed whenever it is full.
            Drain(int.MaxValue);
            while (_full)
            {
                _driver.Flush(_finalized);
                await PublishAsync(CancellationToken.None);
                Drain(int.MaxValue);
            }

            _driver.Flush(_finalized);
            Volatile.Write(ref _inFlight, _driver.InFlight);
            if (_finalized.Count > 0)
            {
                Log.Flushed(_logger, _finalized.Count);
            }

            await PublishAsync(CancellationToken.None);
            _checkpoints.FlushedAll(_published);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _errors);
            Log.ShutdownFailed(_logger, ex);
        }
        finally
        {
            _channels.Results.Writer.TryComplete();
        }
    }

    /// <summary>
    /// Takes up to <paramref name="maxBatches"/> waiting batches into the engine, longest-waiting
    /// first (<see cref="EngineInbox"/>), passing over a batch that would start more probes than
    /// the engine has room for under its in-flight limit: the halves of probes already in flight
    /// still come in, out of any batch (<see cref="Join"/>), the rest wait in the inbox, and the
    /// agents' acks with them, until turns finalise probes (<see cref="_full"/>). Dropping the
    /// oldest probes instead lost accepted observations whenever ingest outran the engine.
    /// </summary>
    private int Drain(int maxBatches)
    {
        var taken = 0;
        _full = false;
        while (taken < maxBatches)
        {
            if (!_channels.Inbox.TryTake(_fits, out var batch))
            {
                if (_channels.Inbox.Count > 0)
                {
                    _full = true;
                    Interlocked.Increment(ref _heldBack);
                    var now = _timeProvider.NowNs();
                    if (_joinDue && now >= _nextJoinNs)
                    {
                        // Turns run on the clock while full: every half of a probe in flight
                        // the correlator holds goes in first, so none finalises without it.
                        _joinDue = false;
                        _nextJoinNs = now + (long)AdvanceInterval.TotalNanoseconds;
                        _channels.Inbox.ForEachWaiting(_join);
                    }
                }

                break;
            }

            taken++;
            _budget.Release(batch.Bytes);
            // Arrival is when the correlator had the batch, not when the engine got to it.
            var arrival = batch.PostedNs;
            _checkpoints.Taken(batch.JournalIndex, arrival);
            _joinDue = true;
            foreach (ref readonly var observation in batch.Waiting)
            {
                Add(observation, arrival);
            }

            if (batch.Pooled)
            {
                // The engine copied them into its probes; the journal wrote them before posting.
                System.Buffers.ArrayPool<Observation>.Shared.Return(batch.Observations.Array!);
            }
        }

        return taken;
    }

    /// <summary>Whether the engine has room for the probes <paramref name="batch"/> would start (always, when it holds none).</summary>
    private bool Fits(IngestBatch batch)
    {
        var inFlight = _driver.InFlight;
        var room = _driver.Options.MaxInFlight - inFlight;
        var waiting = batch.Waiting;
        return inFlight == 0 || waiting.Length <= room || _driver.NewProbes(waiting) <= room;
    }

    /// <summary>
    /// Takes the observations of a waiting <paramref name="batch"/> that join probes in flight
    /// (moved to its front, <see cref="IngestBatch.Joined"/>), leaving those that would start
    /// probes. The batch counts as taken for the journal only once all of it is.
    /// </summary>
    private void Join(IngestBatch batch)
    {
        var waiting = batch.Waiting;
        var joined = 0;
        for (var i = 0; i < waiting.Length; i++)
        {
            if (_driver.Joins(waiting[i]))
            {
                (waiting[joined], waiting[i]) = (waiting[i], waiting[joined]);
                Add(waiting[joined], batch.PostedNs);
                joined++;
            }
        }

        batch.Joined += joined;
        Interlocked.Add(ref _joinedWhileFull, joined);
    }

    private void Add(in Observation observation, long arrivalNs)
    {
        try
        {
            _driver.Add(observation, arrivalNs);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _errors);
            Log.AddFailed(_logger, ex);
        }
    }

    private void Advance(long nowNs)
    {
        try
        {
            _driver.Advance(nowNs, _finalized);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _errors);
            Log.AdvanceFailed(_logger, ex);
        }

        Volatile.Write(ref _inFlight, _driver.InFlight);
        Volatile.Write(ref _offsets, _driver.Offsets);
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        if (_finalized.Count == 0)
        {
            return;
        }

        var writer = _channels.Results.Writer;
        foreach (var probe in _finalized)
        {
            // Waits when the store writer is behind: probes are never dropped here.
            await writer.WriteAsync(probe, cancellationToken);
            _published++;
        }

        _finalized.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "The engine rejected an observation")]
        public static partial void AddFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Advancing the engine failed")]
        public static partial void AdvanceFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Engine flushed {Count} probes at shutdown")]
        public static partial void Flushed(ILogger logger, int count);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Flushing the engine at shutdown failed")]
        public static partial void ShutdownFailed(ILogger logger, Exception exception);
    }
}
