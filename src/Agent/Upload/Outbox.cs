using System.Diagnostics.CodeAnalysis;
using HopCapture.Agent.Capture;
using HopCapture.Contracts.Mapping;
using HopCapture.IngestClient;
using HopCapture.Protos;

namespace HopCapture.Agent.Upload;

/// <summary>A sealed batch: its seq is fixed at sealing so a resend carries the same number.</summary>
public sealed record OutboxBatch(ulong Seq, CapturedObservation[] Observations);

/// <summary>
/// Batches waiting for an ack, oldest first, with contiguous seqs. Bounded by observation count:
/// beyond <c>maxObservations</c> the oldest batches are dropped and counted (upload_dropped), so
/// a correlator that stays away costs bounded memory. Batches become protos only when sent, so
/// what waits costs a struct per observation. Thread-safe; the agent's source for its
/// <see cref="IngestSession"/>.
/// </summary>
public sealed class Outbox : IIngestBatchSource
{
    private readonly Lock _gate = new();
    private readonly List<OutboxBatch> _batches = [];
    private readonly long _maxObservations;
    private int _head;
    private long _buffered;
    private long _dropped;
    private ulong _nextSeq = 1;
    private volatile bool _completed;

    public Outbox(long maxObservations) => _maxObservations = maxObservations;

    /// <summary>Observations sealed but not yet acked.</summary>
    public long Buffered
    {
        get
        {
            lock (_gate)
            {
                return _buffered;
            }
        }
    }

    /// <summary>Observations dropped because the outbox was full.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _head == _batches.Count;
            }
        }
    }

    /// <summary>The oldest seq still held, or the next seq to be sealed when empty.</summary>
    public ulong FirstSeq
    {
        get
        {
            lock (_gate)
            {
                return _head < _batches.Count ? _batches[_head].Seq : _nextSeq;
            }
        }
    }

    /// <summary>Set once nothing more will be sealed (the agent is stopping and its batcher is done).</summary>
    public bool IsCompleted => _completed;

    public void Complete() => _completed = true;

    public OutboxBatch Seal(ReadOnlySpan<CapturedObservation> observations)
    {
        lock (_gate)
        {
            var batch = new OutboxBatch(_nextSeq++, observations.ToArray());
            _batches.Add(batch);
            _buffered += batch.Observations.Length;
            while (_buffered > _maxObservations && _head < _batches.Count - 1)
            {
                var oldest = _batches[_head++];
                _buffered -= oldest.Observations.Length;
                Interlocked.Add(ref _dropped, oldest.Observations.Length);
            }

            Compact();
            return batch;
        }
    }

    /// <summary>Forgets every batch up to and including <paramref name="seq"/>.</summary>
    public void AckThrough(ulong seq)
    {
        lock (_gate)
        {
            while (_head < _batches.Count && _batches[_head].Seq <= seq)
            {
                _buffered -= _batches[_head].Observations.Length;
                _head++;
            }

            Compact();
        }
    }

    /// <summary>The first batch with a seq above <paramref name="seq"/>.</summary>
    public bool TryGetAfter(ulong seq, out OutboxBatch batch)
    {
        lock (_gate)
        {
            if (_head < _batches.Count)
            {
                var first = _batches[_head].Seq;
                var index = seq < first ? _head : _head + (int)(seq + 1 - first);
                if (index < _batches.Count)
                {
                    batch = _batches[index];
                    return true;
                }
            }

            batch = null!;
            return false;
        }
    }

    bool IIngestBatchSource.TryGetAfter(ulong seq, [MaybeNullWhen(false)] out ObservationBatch batch)
    {
        if (!TryGetAfter(seq, out var sealedBatch))
        {
            batch = null;
            return false;
        }

        batch = new ObservationBatch { Seq = sealedBatch.Seq };
        foreach (var captured in sealedBatch.Observations)
        {
            batch.Observations.Add(captured.Observation.ToProto(captured.WireLength, captured.Vlan));
        }

        return true;
    }

    private void Compact()
    {
        // Amortised O(1): shift only once the dead prefix outweighs the live part.
        if (_head > 64 && _head * 2 > _batches.Count)
        {
            _batches.RemoveRange(0, _head);
            _head = 0;
        }
    }
}
