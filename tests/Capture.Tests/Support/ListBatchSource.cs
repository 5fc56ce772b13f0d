using System.Diagnostics.CodeAnalysis;
using HopCapture.IngestClient;
using HopCapture.Protos;

namespace HopCapture.Tests.Support;

/// <summary>
/// An in-memory <see cref="IIngestBatchSource"/> for tests that drive the real ingest session:
/// batches sealed with contiguous seqs from 1, forgotten when acked; counts what was sealed and acked.
/// </summary>
internal sealed class ListBatchSource : IIngestBatchSource
{
    private readonly Lock _gate = new();
    private readonly List<ObservationBatch> _batches = [];
    private ulong _nextSeq = 1;
    private ulong _acked;
    private volatile bool _completed;

    public ulong FirstSeq
    {
        get
        {
            lock (_gate)
            {
                return _batches.Count > 0 ? _batches[0].Seq : _nextSeq;
            }
        }
    }

    public bool IsEmpty
    {
        get
        {
            lock (_gate)
            {
                return _batches.Count == 0;
            }
        }
    }

    public bool IsCompleted => _completed;

    /// <summary>Batches sealed so far (= the last seq).</summary>
    public long Sealed
    {
        get
        {
            lock (_gate)
            {
                return (long)_nextSeq - 1;
            }
        }
    }

    /// <summary>The highest seq acked.</summary>
    public long Acked
    {
        get
        {
            lock (_gate)
            {
                return (long)_acked;
            }
        }
    }

    public void Complete() => _completed = true;

    /// <summary>Seals the batch <paramref name="build"/> makes for the next seq.</summary>
    public void Seal(Func<ulong, ObservationBatch> build)
    {
        ArgumentNullException.ThrowIfNull(build);
        lock (_gate)
        {
            var batch = build(_nextSeq);
            batch.Seq = _nextSeq++;
            _batches.Add(batch);
        }
    }

    public bool TryGetAfter(ulong seq, [MaybeNullWhen(false)] out ObservationBatch batch)
    {
        lock (_gate)
        {
            batch = _batches.FirstOrDefault(b => b.Seq > seq);
            return batch is not null;
        }
    }

    public void AckThrough(ulong seq)
    {
        lock (_gate)
        {
            _batches.RemoveAll(b => b.Seq <= seq);
            _acked = Math.Max(_acked, seq);
        }
    }
}
