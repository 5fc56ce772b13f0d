using System.Buffers.Binary;

namespace HopCapture.Engine.Model;

/// <summary>
/// The fixed-width little-endian form of an observation's fields after its interface — the part
/// the on-disk formats (the agent's spool, the correlator's ingest journal) share; each writes
/// the interface its own way in front. 50 bytes: timestamp, src, dst, ICMP id and seq, payload
/// hash, type, direction.
/// </summary>
public static class ObservationLayout
{
    public const int BodyBytes = 50;

    public static void WriteBody(Span<byte> slot, in Observation observation)
    {
        BinaryPrimitives.WriteInt64LittleEndian(slot, observation.TimestampNs);
        BinaryPrimitives.WriteUInt128LittleEndian(slot[8..], observation.Src);
        BinaryPrimitives.WriteUInt128LittleEndian(slot[24..], observation.Dst);
        BinaryPrimitives.WriteUInt16LittleEndian(slot[40..], observation.IcmpId);
        BinaryPrimitives.WriteUInt16LittleEndian(slot[42..], observation.IcmpSeq);
        BinaryPrimitives.WriteUInt32LittleEndian(slot[44..], observation.PayloadHash);
        slot[48] = (byte)observation.Type;
        slot[49] = (byte)observation.Direction;
    }

    public static Observation ReadBody(ReadOnlySpan<byte> slot, int iface, bool imported = false) => new(
        iface,
        BinaryPrimitives.ReadInt64LittleEndian(slot),
        BinaryPrimitives.ReadUInt128LittleEndian(slot[8..]),
        BinaryPrimitives.ReadUInt128LittleEndian(slot[24..]),
        BinaryPrimitives.ReadUInt16LittleEndian(slot[40..]),
        BinaryPrimitives.ReadUInt16LittleEndian(slot[42..]),
        BinaryPrimitives.ReadUInt32LittleEndian(slot[44..]),
        (EchoType)slot[48],
        (PacketDirection)slot[49],
        imported);
}
