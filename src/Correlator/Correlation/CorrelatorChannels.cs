using System.Threading.Channels;
using HopCapture.Engine.Model;
using HopCapture.Analysis.Probes;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Correlator.Correlation;

/// <summary>
/// Validated observations of one agent batch, already in engine form (each carries its imported
/// flag), the index of the batch's record in the ingest journal, the bytes it holds of the
/// <see cref="Ingest.IngestQueueBudget"/> (0 for a batch replayed at start), the stream it came
/// on, and when it was journalled and handed to the engine (correlator clock).
/// </summary>
public sealed record IngestBatch(ArraySegment<Observation> Observations, ulong JournalIndex, long Bytes, object Stream, long PostedNs)
{
    /// <summary>The observations' array came from <see cref="System.Buffers.ArrayPool{T}.Shared"/>: the engine host returns it once it has taken them.</summary>
    public bool Pooled { get; init; }

    /// <summary>
    /// How many of <see cref="Observations"/>, moved to the front, the engine took while the
    /// batch waited because they join probes in flight (engine thread only): the rest, which
    /// would start probes, wait for room.
    /// </summary>
    public int Joined { get; set; }

    /// <summary>The observations the engine has not taken yet.</summary>
    public Span<Observation> Waiting => Observations.AsSpan(Joined);

    /// <summary>The stream of batches replayed from the journal at start (in journal order).</summary>
    public static readonly object Replay = new();
}

/// <summary>
/// The two hand-offs of the pipeline: ingest journal → engine host (bounded, the journal writer
/// waits, which pushes back on agents through the un-acked batch) and engine host → store writer.
/// </summary>
public sealed class CorrelatorChannels : IDisposable
{
    public const int ObservationBatchCapacity = 1024;

    /// <summary>
    /// Finalised probes waiting for the store writer (two of its largest transactions, ~1 KB
    /// each); beyond it the engine waits. At 100,000 a start-up burst of finalised probes held
    /// ~200 MB here.
    /// </summary>
    public const int ResultCapacity = 10_000;

    public EngineInbox Inbox { get; } = new(ObservationBatchCapacity);

    public Channel<Probe> Results { get; } = Channel.CreateBounded<Probe>(
        new BoundedChannelOptions(ResultCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });

    public void Dispose() => Inbox.Dispose();
}
