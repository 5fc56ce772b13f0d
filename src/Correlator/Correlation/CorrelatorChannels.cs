using System.Threading.Channels;
using HopCapture.Engine.Model;
using HopCapture.Analysis.Probes;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Correlator.Correlation;

/// <summary>
/// Validated observations of one agent batch, already in engine form (each carries its imported
/// flag), the index of the batch's record in the ingest journal, and the bytes it holds of the
/// <see cref="Ingest.IngestQueueBudget"/> (0 for a batch replayed at start).
/// </summary>
public sealed record IngestBatch(Observation[] Observations, ulong JournalIndex, long Bytes = 0);

/// <summary>
/// The two hand-offs of the pipeline: ingest streams → engine host (bounded, writers wait, which
/// pushes back on agents through the un-acked batch) and engine host → store writer.
/// </summary>
public sealed class CorrelatorChannels
{
    public const int ObservationBatchCapacity = 1024;

    /// <summary>
    /// Finalised probes waiting for the store writer (four of its largest transactions); beyond
    /// it the engine waits. At 100,000 a start-up burst of finalised probes held ~200 MB here.
    /// </summary>
    public const int ResultCapacity = 20_000;

    public Channel<IngestBatch> Observations { get; } = Channel.CreateBounded<IngestBatch>(
        new BoundedChannelOptions(ObservationBatchCapacity) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public Channel<Probe> Results { get; } = Channel.CreateBounded<Probe>(
        new BoundedChannelOptions(ResultCapacity) { SingleReader = true, SingleWriter = true, FullMode = BoundedChannelFullMode.Wait });
}
