using System.Diagnostics.CodeAnalysis;
using HopCapture.Agent.Capture;
using HopCapture.Contracts.Mapping;
using HopCapture.Durability;
using HopCapture.IngestClient;
using HopCapture.Protos;
using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Spool;

/// <summary>
/// The agent's sealed batches: every batch is appended to an on-disk <see cref="RecordLog"/>
/// (record index = batch seq, <see cref="SpoolCodec"/> payload) and handed to the kernel at once,
/// so whatever was sealed survives the agent being killed; the session reads the newest batches
/// from a small in-memory cache and older ones (the correlator was away or slow) back from disk,
/// in seq order. Acks delete whole sealed segments; a full spool deletes its oldest segments
/// unsent (drop-oldest), counted. Seqs continue across restarts with the log's numbering, and
/// skip ahead when the correlator already holds later ones (<see cref="AckThrough"/>).
/// Thread-safe: the batcher seals while the session reads and acks.
/// </summary>
public sealed class SpoolBatchSource : IIngestBatchSource, IDisposable
{
    /// <summary>Batches kept in memory as well as on disk: a live session never reads the disk.</summary>
    internal const int CacheBatches = 64;

    private readonly Lock _gate = new();
    private readonly Lock _readGate = new();
    private readonly RecordLog _log;
    private readonly RecordLogReader _reader;
    private readonly ILogger _logger;
    private readonly long _maxBytes;
    private readonly List<SealedBatch> _cache = [];

    // Observation count of every un-acked batch from seq _countsFirst on: pending and dropped
    // observations stay exact without reading the disk (4 bytes per batch held).
    private readonly Queue<int> _counts = new();
    private ulong _countsFirst;
    private ulong _acked;
    private byte[] _buffer = [];
    private long _pending;
    private long _spooledBatches;
    private long _spooledObservations;
    private long _droppedBatches;
    private long _droppedObservations;
    private long _replayedBatches;
    private volatile bool _completed;

    private SpoolBatchSource(RecordLog log, long maxBytes, ILogger logger)
    {
        _log = log;
        _maxBytes = maxBytes;
        _logger = logger;
        _reader = log.OpenReader();
        _countsFirst = log.FirstIndex;
        foreach (var (index, payload) in _reader.ReadFrom(log.FirstIndex))
        {
            while (_countsFirst + (ulong)_counts.Count < index)
            {
                _counts.Enqueue(0); // a numbering gap (AdvanceTo): nothing to send there
            }

            var count = TryCount(index, payload);
            _counts.Enqueue(count);
            _pending += count;
        }
    }

    public string Directory => _log.Directory;

    /// <summary>What opening found: whole batches held and torn bytes cut.</summary>
    public RecordLogRecovery Recovery => _log.Recovery;

    /// <summary>Observations sealed and not acked yet.</summary>
    public long PendingObservations
    {
        get
        {
            lock (_gate)
            {
                return _pending;
            }
        }
    }

    /// <summary>Observations deleted unsent because the spool was full, or lost to a failed write.</summary>
    public long DroppedObservations => Interlocked.Read(ref _droppedObservations);

    /// <summary>The seq the next <see cref="Seal"/> gets.</summary>
    public ulong NextSeq => _log.NextIndex;

    public ulong FirstSeq
    {
        get
        {
            lock (_gate)
            {
                return Math.Min(Math.Max(_acked + 1, _log.FirstIndex), _log.NextIndex);
            }
        }
    }

    public bool IsEmpty => FirstSeq >= _log.NextIndex;

    public bool IsCompleted => _completed;

    /// <summary>Opens (or creates) the spool in <paramref name="directory"/>, cutting a torn tail, and logs one line of what it found.</summary>
    /// <exception cref="AgentStateException">The directory cannot be created, locked or read.</exception>
    public static SpoolBatchSource Open(string directory, long maxBytes, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(logger);
        RecordLog? log = null;
        try
        {
            log = RecordLog.Open(directory, new RecordLogOptions
            {
                MaxBytes = maxBytes,
                // 16 segments: drop-oldest and ack deletions free a sixteenth at a time.
                SegmentBytes = Math.Clamp(maxBytes / 16, 4096, 16L << 20),
                MaxRecordBytes = SpoolCodec.Size(100_000),
            });
            var source = new SpoolBatchSource(log, maxBytes, logger);
            var recovery = log.Recovery.Describe();
            SpoolLog.Opened(logger, log.Directory, recovery, source._counts.Count, source._pending, log.NextIndex, log.Bytes, maxBytes);
            return source;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            log?.Dispose();
            throw new AgentStateException($"{Configuration.AgentOptions.Section}:Spool:Directory: cannot open the spool '{Path.GetFullPath(directory)}': {ex.Message}", ex);
        }
    }

    /// <summary>No batch will be sealed any more (the agent is stopping).</summary>
    public void Complete() => _completed = true;

    /// <summary>
    /// Appends a batch to the spool and hands it to the kernel; returns its seq, or 0 when the
    /// write failed (disk full): the batch is dropped and counted, capture goes on.
    /// </summary>
    public ulong Seal(ReadOnlySpan<CapturedObservation> observations)
    {
        var size = SpoolCodec.Size(observations.Length);
        lock (_gate)
        {
            if (_buffer.Length < size)
            {
                _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
            }

            SpoolCodec.Encode(observations, _buffer);
            ulong seq;
            try
            {
                seq = _log.Append(_buffer.AsSpan(0, size));
                _log.Flush(toDisk: false);
            }
            catch (IOException ex)
            {
                SpoolLog.WriteFailed(_logger, observations.Length, _log.Directory, ex);
                Interlocked.Increment(ref _droppedBatches);
                Interlocked.Add(ref _droppedObservations, observations.Length);
                return 0;
            }

            if (_counts.Count == 0)
            {
                _countsFirst = seq;
            }

            _counts.Enqueue(observations.Length);
            _pending += observations.Length;
            _spooledBatches++;
            _spooledObservations += observations.Length;
            _cache.Add(new SealedBatch(seq, observations.ToArray()));
            if (_cache.Count > CacheBatches)
            {
                _cache.RemoveAt(0);
            }

            ForgetDropped();
            return seq;
        }
    }

    public bool TryGetAfter(ulong seq, [MaybeNullWhen(false)] out ObservationBatch batch)
    {
        var want = seq + 1;
        lock (_gate)
        {
            want = Math.Max(want, _acked + 1);
            if (_cache.Count > 0 && want >= _cache[0].Seq && want <= _cache[^1].Seq)
            {
                var cached = _cache[(int)(want - _cache[0].Seq)];
                batch = ToProto(cached.Seq, cached.Observations);
                return true;
            }

            if (want >= _log.NextIndex)
            {
                batch = null;
                return false;
            }
        }

        // Older than the cache: read back from disk, outside the writer's lock.
        lock (_readGate)
        {
            while (_reader.TryReadAtOrAfter(want, out var found, out var payload))
            {
                CapturedObservation[] observations;
                try
                {
                    observations = SpoolCodec.Decode(payload);
                }
                catch (InvalidDataException ex)
                {
                    SpoolLog.Unreadable(_logger, found, _log.Directory, ex.Message);
                    want = found + 1;
                    continue;
                }

                Interlocked.Increment(ref _replayedBatches);
                batch = ToProto(found, observations);
                return true;
            }
        }

        batch = null;
        return false;
    }

    /// <summary>
    /// Forgets every batch through <paramref name="seq"/> and deletes the sealed segments it
    /// covers. When the correlator holds seqs at or above the next one to be sealed (this
    /// spool was lost or replaced under a kept identity), numbering skips ahead past them, or
    /// the correlator would drop new batches as re-sends.
    /// </summary>
    public void AckThrough(ulong seq)
    {
        lock (_gate)
        {
            if (seq <= _acked)
            {
                return;
            }

            var next = _log.NextIndex;
            if (seq >= next)
            {
                // What is still un-acked here was sealed under this numbering but will never be
                // stored (the correlator takes it for a re-send): counted as dropped.
                var skipped = _counts.Count(c => c > 0);
                Interlocked.Add(ref _droppedBatches, skipped);
                Interlocked.Add(ref _droppedObservations, _pending);
                _log.AdvanceTo(seq + 1);
                SpoolLog.SkippedAhead(_logger, seq, next, seq + 1, skipped);
            }

            _acked = seq;
            while (_cache.Count > 0 && _cache[0].Seq <= seq)
            {
                _cache.RemoveAt(0);
            }

            while (_counts.Count > 0 && _countsFirst <= seq)
            {
                _pending -= _counts.Dequeue();
                _countsFirst++;
            }

            _log.DeleteThrough(seq);
        }
    }

    /// <summary>The spool's counters for the heartbeat (`capture agents`, /metrics).</summary>
    public SpoolStats Statistics()
    {
        lock (_gate)
        {
            return new SpoolStats
            {
                Bytes = (ulong)_log.Bytes,
                MaxBytes = (ulong)_maxBytes,
                PendingBatches = _log.NextIndex - Math.Min(Math.Max(_acked + 1, _log.FirstIndex), _log.NextIndex),
                SpooledBatches = (ulong)_spooledBatches,
                SpooledObservations = (ulong)_spooledObservations,
                DroppedBatches = (ulong)Interlocked.Read(ref _droppedBatches),
                DroppedObservations = (ulong)Interlocked.Read(ref _droppedObservations),
                TornBytes = (ulong)_log.Recovery.CutBytes,
                RecoveredBatches = (ulong)_log.Recovery.Records,
                ReplayedBatches = (ulong)Interlocked.Read(ref _replayedBatches),
            };
        }
    }

    public void Dispose()
    {
        lock (_readGate)
        {
            _reader.Dispose();
        }

        _log.Dispose();
    }

    /// <summary>Packed (one buffer, not a message per observation); the Hello index is the observation's own interface.</summary>
    private static ObservationBatch ToProto(ulong seq, CapturedObservation[] observations)
    {
        var packed = new PackedBatchWriter(observations.Length);
        foreach (ref readonly var captured in observations.AsSpan())
        {
            packed.Add(captured.Observation, captured.Observation.Iface);
        }

        return new ObservationBatch { Seq = seq, Packed = packed.Take() };
    }

    /// <summary>After an append: the batches the log deleted to stay under its bound, counted as dropped.</summary>
    private void ForgetDropped()
    {
        var first = _log.FirstIndex;
        long batches = 0, observations = 0;
        while (_counts.Count > 0 && _countsFirst < first)
        {
            var count = _counts.Dequeue();
            _countsFirst++;
            if (count > 0)
            {
                batches++;
                observations += count;
            }
        }

        while (_cache.Count > 0 && _cache[0].Seq < first)
        {
            _cache.RemoveAt(0);
        }

        if (batches > 0)
        {
            _pending -= observations;
            Interlocked.Add(ref _droppedBatches, batches);
            Interlocked.Add(ref _droppedObservations, observations);
            SpoolLog.Dropped(_logger, _maxBytes, batches, observations);
        }
    }

    private int TryCount(ulong index, byte[] payload)
    {
        try
        {
            return SpoolCodec.Count(payload);
        }
        catch (InvalidDataException ex)
        {
            SpoolLog.Unreadable(_logger, index, _log.Directory, ex.Message);
            return 0;
        }
    }

    private sealed record SealedBatch(ulong Seq, CapturedObservation[] Observations);
}
