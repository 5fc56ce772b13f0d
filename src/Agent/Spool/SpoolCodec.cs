using System.Buffers.Binary;
using HopCapture.Agent.Capture;
using HopCapture.Engine.Model;

namespace HopCapture.Agent.Spool;

/// <summary>
/// A sealed batch as one spool record: a fixed 8-byte header (format, count) and 60 bytes per
/// observation, written straight from the captured structs. Fixed width keeps encoding a copy
/// (no proto built or serialised at sealing: measured in SpoolCodecTests) and makes a record's
/// observation count readable from its header alone.
/// </summary>
public static class SpoolCodec
{
    public const int HeaderBytes = 8;
    public const int ObservationBytes = 60;
    private const byte Format = 1;

    /// <summary>Bytes <see cref="Encode"/> needs for <paramref name="count"/> observations.</summary>
    public static int Size(int count) => HeaderBytes + (count * ObservationBytes);

    /// <summary>Writes <paramref name="observations"/> into <paramref name="destination"/>; returns the bytes written.</summary>
    public static int Encode(ReadOnlySpan<CapturedObservation> observations, Span<byte> destination)
    {
        var size = Size(observations.Length);
        if (destination.Length < size)
        {
            throw new ArgumentException($"a batch of {observations.Length} observations needs {size} bytes", nameof(destination));
        }

        destination[0] = Format;
        destination[1..4].Clear();
        BinaryPrimitives.WriteInt32LittleEndian(destination[4..], observations.Length);
        var at = HeaderBytes;
        foreach (ref readonly var captured in observations)
        {
            var o = captured.Observation;
            var slot = destination.Slice(at, ObservationBytes);
            BinaryPrimitives.WriteInt32LittleEndian(slot, o.Iface);
            ObservationLayout.WriteBody(slot[4..], o);
            BinaryPrimitives.WriteUInt32LittleEndian(slot[54..], captured.WireLength);
            BinaryPrimitives.WriteUInt16LittleEndian(slot[58..], captured.Vlan);
            at += ObservationBytes;
        }

        return size;
    }

    /// <summary>The observation count of a record, from its header alone.</summary>
    /// <exception cref="InvalidDataException">Not a record of this format.</exception>
    public static int Count(ReadOnlySpan<byte> record)
    {
        if (record.Length < HeaderBytes || record[0] != Format)
        {
            throw new InvalidDataException($"not a spool batch record (format {(record.Length > 0 ? record[0] : 0)}, {record.Length} bytes)");
        }

        var count = BinaryPrimitives.ReadInt32LittleEndian(record[4..]);
        if (count < 0 || Size(count) != record.Length)
        {
            throw new InvalidDataException($"a spool batch record of {record.Length} bytes claims {count} observations");
        }

        return count;
    }

    /// <exception cref="InvalidDataException">Not a record of this format.</exception>
    public static CapturedObservation[] Decode(ReadOnlySpan<byte> record)
    {
        var observations = new CapturedObservation[Count(record)];
        var at = HeaderBytes;
        for (var i = 0; i < observations.Length; i++, at += ObservationBytes)
        {
            var slot = record.Slice(at, ObservationBytes);
            var observation = ObservationLayout.ReadBody(slot[4..], BinaryPrimitives.ReadInt32LittleEndian(slot));
            observations[i] = new CapturedObservation(observation, BinaryPrimitives.ReadUInt32LittleEndian(slot[54..]), BinaryPrimitives.ReadUInt16LittleEndian(slot[58..]));
        }

        return observations;
    }
}
