using System.Buffers.Binary;
using Google.Protobuf;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Contracts.Mapping;

/// <summary>
/// <c>ObservationBatch.packed</c> (issue 12): observations as consecutive 52-byte little-endian
/// records — the Hello's interface index as u16, then <see cref="ObservationLayout"/>'s body —
/// instead of one protobuf message each, which the correlator allocated and decoded a million
/// times a second. The one codec senders and the correlator share: packing writes into one
/// buffer per batch, reading decodes from a span over the received bytes; neither allocates per
/// observation. The layout is documented in protos/ingest.proto.
/// </summary>
public static class PackedObservations
{
    public const int RecordBytes = 2 + ObservationLayout.BodyBytes;

    /// <summary>Writes one record; <paramref name="helloIndex"/> is the observation's index in the Hello's interface table.</summary>
    public static void Write(Span<byte> record, in EngineObservation observation, int helloIndex)
    {
        if ((uint)helloIndex > ushort.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(helloIndex), helloIndex, $"a packed observation's interface index is at most {ushort.MaxValue}");
        }

        BinaryPrimitives.WriteUInt16LittleEndian(record, (ushort)helloIndex);
        ObservationLayout.WriteBody(record[2..], observation);
    }

    /// <summary>One record as written, unchecked; <c>Iface</c> is the Hello index.</summary>
    public static EngineObservation Read(ReadOnlySpan<byte> record, bool imported = false) =>
        ObservationLayout.ReadBody(record[2..], BinaryPrimitives.ReadUInt16LittleEndian(record), imported);

    /// <summary>Records in a packed field, a torn one at the end counted as one.</summary>
    public static int Count(int packedBytes) => (packedBytes + RecordBytes - 1) / RecordBytes;

    /// <summary>Why a packed field cannot be split into records; null when it can.</summary>
    public static string? LengthProblem(int packedBytes) =>
        packedBytes % RecordBytes == 0 ? null : $"packed is {packedBytes} bytes, not a multiple of {RecordBytes}";

    /// <summary>
    /// Reads and checks one record (<see cref="ObservationRules"/>) and gives it the catalog id of
    /// its interface.
    /// </summary>
    /// <param name="ifaceIds">Catalog id of each interface in the Hello, by Hello index.</param>
    /// <param name="problem">Why it was refused, naming the field; "" when valid.</param>
    public static bool TryRead(ReadOnlySpan<byte> record, ReadOnlySpan<int> ifaceIds, bool imported, out EngineObservation observation, out string problem)
    {
        observation = Read(record, imported);
        var failed = ObservationRules.Iface((uint)observation.Iface, ifaceIds.Length)
            ?? ObservationRules.Type((int)observation.Type)
            ?? ObservationRules.Timestamp(observation.TimestampNs)
            ?? ObservationRules.Direction((int)observation.Direction);
        if (failed is not null)
        {
            observation = default;
            problem = failed;
            return false;
        }

        observation = observation with { Iface = ifaceIds[observation.Iface] };
        problem = "";
        return true;
    }

    /// <summary>
    /// The same batch with its packed records as repeated observations, for a correlator that did
    /// not advertise <c>accepts_packed</c> (it would ack an unknown field's batch as empty).
    /// The original is left as it is: a later stream may send it packed.
    /// </summary>
    public static ObservationBatch Unpacked(ObservationBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var packed = batch.Packed.Span;
        var copy = new ObservationBatch { Seq = batch.Seq, Imported = batch.Imported };
        copy.Observations.Capacity = batch.Observations.Count + Count(packed.Length);
        copy.Observations.AddRange(batch.Observations);
        for (var at = 0; at + RecordBytes <= packed.Length; at += RecordBytes)
        {
            var observation = Read(packed.Slice(at, RecordBytes));
            var proto = observation.ToProto(0, 0);
            // Unchecked on purpose: the correlator refuses a bad type or direction with its reason.
            proto.Type = (Protos.EchoType)observation.Type;
            proto.Direction = (Direction)observation.Direction;
            copy.Observations.Add(proto);
        }

        return copy;
    }
}
