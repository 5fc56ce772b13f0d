using System.Buffers;
using System.Globalization;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using EngineObservation = HopCapture.Engine.Model.Observation;
using ProtoObservation = HopCapture.Protos.Observation;

namespace HopCapture.Correlator.Ingest;

/// <summary>Checks wire observations (repeated or packed) and converts them to the engine's form.</summary>
public static class ObservationValidator
{
    /// <summary>
    /// Every observation of a batch that passes, repeated ones first, then the packed records;
    /// a refused one counts in <paramref name="rejected"/> and the first reason names its index.
    /// A packed field that is not a whole number of records is refused as a whole (its framing
    /// cannot be trusted), counted as its records with a torn tail as one; the repeated ones stay.
    /// </summary>
    /// <param name="acceptPacked">Correlator:AcceptPacked; when false the packed field is refused, as the Welcome said.</param>
    /// <returns>
    /// The valid observations, in an array from <see cref="ArrayPool{T}.Shared"/> that whoever
    /// consumes them last returns (the engine host, see <see cref="Correlation.IngestBatch.Pooled"/>):
    /// an array per batch was a tenth of what the correlator allocated at full rate.
    /// </returns>
    public static ArraySegment<EngineObservation> ConvertBatch(
        ObservationBatch batch, ReadOnlySpan<int> ifaceIds, bool acceptPacked, out int rejected, out string firstReason)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var repeated = batch.Observations;
        var packed = batch.Packed.Span;
        var packedProblem = PackedObservations.LengthProblem(packed.Length)
            ?? (acceptPacked || packed.IsEmpty ? null : "packed observations are not accepted here (Correlator:AcceptPacked is false)");
        var packedCount = packedProblem is null ? packed.Length / PackedObservations.RecordBytes : 0;
        var observations = ArrayPool<EngineObservation>.Shared.Rent(repeated.Count + packedCount);
        var count = 0;
        rejected = 0;
        firstReason = "";
        for (var i = 0; i < repeated.Count; i++)
        {
            if (TryConvert(repeated[i], ifaceIds, out var observation, out var problem))
            {
                // The engine carries the flag with each observation into the probe it joins.
                observations[count++] = batch.Imported ? observation with { Imported = true } : observation;
            }
            else if (rejected++ == 0)
            {
                firstReason = $"observation {Num(i)}: {problem}";
            }
        }

        if (packedProblem is not null)
        {
            if (rejected == 0)
            {
                firstReason = $"observations {Num(repeated.Count)} on: {packedProblem}";
            }

            rejected += PackedObservations.Count(packed.Length);
        }

        for (var r = 0; r < packedCount; r++)
        {
            var record = packed.Slice(r * PackedObservations.RecordBytes, PackedObservations.RecordBytes);
            if (PackedObservations.TryRead(record, ifaceIds, batch.Imported, out observations[count], out var problem))
            {
                count++;
            }
            else if (rejected++ == 0)
            {
                firstReason = $"observation {Num(repeated.Count + r)}: {problem}";
            }
        }

        return new ArraySegment<EngineObservation>(observations, 0, count);
    }

    /// <param name="ifaceIds">Catalog id of each interface in the Hello, by Hello index.</param>
    /// <param name="problem">Why it was refused, naming the field; "" when valid.</param>
    public static bool TryConvert(ProtoObservation observation, ReadOnlySpan<int> ifaceIds, out EngineObservation result, out string problem)
    {
        ArgumentNullException.ThrowIfNull(observation);
        result = default;
        var failed = ObservationRules.Iface(observation.Iface, ifaceIds.Length)
            ?? AddressProblem("src", observation.Src.Length)
            ?? AddressProblem("dst", observation.Dst.Length)
            ?? ObservationRules.Type((int)observation.Type)
            ?? ObservationRules.Timestamp(observation.TsNs);
        if (failed is null && (observation.IcmpId > ushort.MaxValue || observation.IcmpSeq > ushort.MaxValue))
        {
            failed = $"icmp_id {Num(observation.IcmpId)} / icmp_seq {Num(observation.IcmpSeq)} exceed 16 bits";
        }

        if (failed is not null)
        {
            problem = failed;
            return false;
        }

        result = new EngineObservation(
            ifaceIds[(int)observation.Iface],
            observation.TsNs,
            IpAddress128.FromBytes(observation.Src.Span),
            IpAddress128.FromBytes(observation.Dst.Span),
            (ushort)observation.IcmpId,
            (ushort)observation.IcmpSeq,
            observation.PayloadHash,
            (Engine.Model.EchoType)observation.Type,
            observation.Direction.ToEngine());
        problem = "";
        return true;
    }

    private static string? AddressProblem(string field, int length) =>
        length is 4 or 16 ? null : $"{field} is {Num(length)} bytes (an IP address is 4 or 16)";

    private static string Num<T>(T value)
        where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);
}
