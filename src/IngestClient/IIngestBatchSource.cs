using System.Diagnostics.CodeAnalysis;
using HopCapture.Protos;

namespace HopCapture.IngestClient;

/// <summary>
/// Sealed batches waiting for an ack, with contiguous seqs fixed at sealing (so a resend carries
/// the same number). The session reads from it on its own threads: implementations are thread-safe.
/// </summary>
public interface IIngestBatchSource
{
    /// <summary>The oldest seq still held, or the next seq to be sealed when empty (Hello.next_seq).</summary>
    ulong FirstSeq { get; }

    /// <summary>No batch is waiting for an ack.</summary>
    bool IsEmpty { get; }

    /// <summary>No batch will be sealed any more: once the source is empty the session completes the stream.</summary>
    bool IsCompleted { get; }

    /// <summary>The first sealed batch with a seq above <paramref name="seq"/>.</summary>
    bool TryGetAfter(ulong seq, [MaybeNullWhen(false)] out ObservationBatch batch);

    /// <summary>Forgets every batch up to and including <paramref name="seq"/>.</summary>
    void AckThrough(ulong seq);
}
