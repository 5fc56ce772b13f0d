using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Hosting;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Microsoft.Extensions.Options;
using Observation = HopCapture.Engine.Model.Observation;
using ProbeKey = HopCapture.Engine.Correlation.ProbeKey;

namespace HopCapture.Correlator.Correlation;

/// <summary>
/// Owns the <see cref="CorrelationEngine"/>: the only thread that touches it. Feeds it the
/// ingested observations, advances it every <see cref="AdvanceInterval"/> and after each
/// burst of batches, and hands finalised probes to the store writer.
/// </summary>
public sealed partial class EngineHost : BackgroundService
{
    public static readonly TimeSpan AdvanceInterval = TimeSpan.FromMilliseconds(100);

    // Upper bound of batches taken before the engine is advanced again, so finalisation keeps
    // up under a steady stream of batches.
    private const int BatchesPerTurn = 64;

    private readonly CorrelationEngine _engine;
    private readonly CorrelatorChannels _channels;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger<EngineHost> _logger;
    private readonly List<ProbeResult> _finalized = [];
    private readonly HashSet<ProbeKey> _importedKeys = [];
    private long _errors;
    private int _inFlight;
    private long _offsetsVersion = -1;
    private IReadOnlyList<OffsetPair> _offsets = [];

    public EngineHost(
        IOptions<CorrelatorOptions> options,
        InterfaceCatalog catalog,
        CorrelatorChannels channels,
        TimeProvider timeProvider,
        ILogger<EngineHost> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _engine = new CorrelationEngine(options.Value.Engine, catalog);
        _channels = channels;
        _timeProvider = timeProvider;
        _logger = logger;
    }

    public EngineCounters Counters => _engine.Counters;

    /// <summary>Probes in flight as of the last engine turn (read from any thread).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public int MaxInFlight => _engine.Options.MaxInFlight;

    /// <summary>Clock offsets between adjacent points as of the last engine turn (read from any thread).</summary>
    public IReadOnlyList<OffsetPair> Offsets => Volatile.Read(ref _offsets);

    public InterfaceCatalog Catalog => _engine.Catalog;

    /// <summary>Observations or turns the engine threw on (logged, skipped).</summary>
    public long Errors => Interlocked.Read(ref _errors);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        await Task.Yield();
        var reader = _channels.Observations.Reader;
        var nextAdvance = _timeProvider.NowNs() + (long)AdvanceInterval.TotalNanoseconds;
        Task<bool>? waitRead = null;
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var taken = Drain(BatchesPerTurn);
                var now = _timeProvider.NowNs();
                if (taken > 0 || now >= nextAdvance)
                {
                    Advance(now);
                    nextAdvance = now + (long)AdvanceInterval.TotalNanoseconds;
                    await PublishAsync(CancellationToken.None);
                }

                if (taken == BatchesPerTurn)
                {
                    continue;
                }

                waitRead ??= reader.WaitToReadAsync(stoppingToken).AsTask();
                if (!waitRead.IsCompleted)
                {
                    var wait = TimeSpan.FromTicks(Math.Max(1, (nextAdvance - _timeProvider.NowNs()) / 100));
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
            Drain(int.MaxValue);
            _engine.Flush(_finalized);
            Volatile.Write(ref _inFlight, _engine.InFlight);
            if (_finalized.Count > 0)
            {
                Log.Flushed(_logger, _finalized.Count);
            }

            await PublishAsync(CancellationToken.None);
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

    private int Drain(int maxBatches)
    {
        var reader = _channels.Observations.Reader;
        var taken = 0;
        while (taken < maxBatches && reader.TryRead(out var batch))
        {
            taken++;
            var arrival = _timeProvider.NowNs();
            foreach (ref readonly var observation in batch.Observations.AsSpan())
            {
                try
                {
                    _engine.Add(observation, arrival);
                    if (batch.Imported)
                    {
                        RememberImported(observation);
                    }
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _errors);
                    Log.AddFailed(_logger, ex);
                }
            }
        }

        return taken;
    }

    private void RememberImported(in Observation observation)
    {
        // Bounded like the engine itself: past the cap an imported flag may be missed, never leaked.
        if (_importedKeys.Count >= _engine.Options.MaxInFlight)
        {
            _importedKeys.Clear();
        }

        _importedKeys.Add(ProbeKey.Of(observation));
    }

    private void Advance(long nowNs)
    {
        try
        {
            _engine.Advance(nowNs, _finalized);
        }
        catch (Exception ex)
        {
            Interlocked.Increment(ref _errors);
            Log.AdvanceFailed(_logger, ex);
        }

        Volatile.Write(ref _inFlight, _engine.InFlight);
        if (_engine.Offsets.Version != _offsetsVersion)
        {
            _offsetsVersion = _engine.Offsets.Version;
            Volatile.Write(ref _offsets, _engine.Offsets.Snapshot());
        }
    }

    private async Task PublishAsync(CancellationToken cancellationToken)
    {
        if (_finalized.Count == 0)
        {
            return;
        }

        var writer = _channels.Results.Writer;
        foreach (var result in _finalized)
        {
            ProbeRecord record;
            try
            {
                record = result.ToRecord(_engine.Catalog, _importedKeys.Count > 0 && _importedKeys.Remove(result.Key));
            }
            catch (Exception ex)
            {
                Interlocked.Increment(ref _errors);
                Log.MappingFailed(_logger, result.Key.ToString(), ex);
                continue;
            }

            // Waits when the store writer is behind: results are never dropped here.
            await writer.WriteAsync(record, cancellationToken);
        }

        _finalized.Clear();
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 2001, Level = LogLevel.Error, Message = "The engine rejected an observation")]
        public static partial void AddFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "Advancing the engine failed")]
        public static partial void AdvanceFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Could not map finalised probe {Probe}")]
        public static partial void MappingFailed(ILogger logger, string probe, Exception exception);

        [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Engine flushed {Count} probes at shutdown")]
        public static partial void Flushed(ILogger logger, int count);

        [LoggerMessage(EventId = 2005, Level = LogLevel.Error, Message = "Flushing the engine at shutdown failed")]
        public static partial void ShutdownFailed(ILogger logger, Exception exception);
    }
}
