using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using HopCapture.Engine.Model;

namespace HopCapture.Correlator.Journal;

/// <summary>One agent batch as the journal holds it: whose it was, its seq, and its valid observations in engine form.</summary>
public sealed record JournalBatch(string Node, string Instance, ulong Seq, Observation[] Observations);

/// <summary>
/// The journal's record format, version 1. A record carries the descriptors (name, point, role)
/// of the interfaces its observations use, so it can be replayed into a fresh catalog without
/// the agent's Hello: <c>[u8 version][u8 flags][node][instance][u64 seq][u16 n][n × iface]
/// [u32 m][m × 52-byte observation]</c>, strings as u16 length + UTF-8.
/// </summary>
public static class JournalCodec
{
    private const byte Version = 1;
    private const byte ImportedFlag = 1;
    private const int ObservationBytes = 2 + ObservationLayout.BodyBytes;

    public static byte[] Encode(string node, string instance, ulong seq, bool imported, ReadOnlySpan<Observation> observations, InterfaceCatalog catalog)
    {
        var rented = EncodeRented(node, instance, seq, imported, observations, catalog, out var length);
        var record = rented.AsSpan(0, length).ToArray();
        ArrayPool<byte>.Shared.Return(rented);
        return record;
    }

    /// <summary>
    /// As <see cref="Encode"/>, into an array from <see cref="ArrayPool{T}.Shared"/> (its first
    /// <paramref name="length"/> bytes) that the caller returns once written: the journal's
    /// records were a tenth of what the correlator allocated at full rate.
    /// </summary>
    public static byte[] EncodeRented(string node, string instance, ulong seq, bool imported, ReadOnlySpan<Observation> observations, InterfaceCatalog catalog, out int length)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        // Few interfaces per batch: a list beats a dictionary here.
        var ifaces = new List<int>(4);
        var rentedLocals = ArrayPool<ushort>.Shared.Rent(observations.Length);
        var locals = rentedLocals.AsSpan(0, observations.Length);
        for (var i = 0; i < observations.Length; i++)
        {
            var local = ifaces.IndexOf(observations[i].Iface);
            if (local < 0)
            {
                local = ifaces.Count;
                ifaces.Add(observations[i].Iface);
            }

            locals[i] = (ushort)local;
        }

        var entries = ifaces.Select(catalog.Interface).ToArray();
        var size = 2 + Utf8(node) + Utf8(instance) + 8 + 2 + entries.Sum(e => Utf8(e.Iface) + Utf8(e.Point) + 1) + 4 + (observations.Length * ObservationBytes);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        length = size;
        var span = buffer.AsSpan(0, size);
        span[0] = Version;
        span[1] = imported ? ImportedFlag : (byte)0;
        var at = 2;
        at += WriteString(span[at..], node);
        at += WriteString(span[at..], instance);
        BinaryPrimitives.WriteUInt64LittleEndian(span[at..], seq);
        at += 8;
        BinaryPrimitives.WriteUInt16LittleEndian(span[at..], (ushort)entries.Length);
        at += 2;
        foreach (var entry in entries)
        {
            at += WriteString(span[at..], entry.Iface);
            at += WriteString(span[at..], entry.Point);
            span[at++] = (byte)entry.Role;
        }

        BinaryPrimitives.WriteInt32LittleEndian(span[at..], observations.Length);
        at += 4;
        for (var i = 0; i < observations.Length; i++)
        {
            ref readonly var o = ref observations[i];
            var slot = span.Slice(at, ObservationBytes);
            BinaryPrimitives.WriteUInt16LittleEndian(slot, locals[i]);
            ObservationLayout.WriteBody(slot[2..], o);
            at += ObservationBytes;
        }

        ArrayPool<ushort>.Shared.Return(rentedLocals);
        return buffer;
    }

    /// <summary>Decodes a record, registering its interfaces in <paramref name="catalog"/>.</summary>
    /// <exception cref="FormatException">The record is not a version-1 journal batch.</exception>
    public static JournalBatch Decode(ReadOnlySpan<byte> record, InterfaceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        try
        {
            if (record.Length < 2 || record[0] != Version)
            {
                throw new FormatException($"journal record version {(record.Length > 0 ? record[0] : 0)} is not {Version}");
            }

            var imported = (record[1] & ImportedFlag) != 0;
            var at = 2;
            var node = ReadString(record, ref at);
            var instance = ReadString(record, ref at);
            var seq = BinaryPrimitives.ReadUInt64LittleEndian(record[at..]);
            at += 8;
            var ifaceCount = BinaryPrimitives.ReadUInt16LittleEndian(record[at..]);
            at += 2;
            var ids = new int[ifaceCount];
            for (var i = 0; i < ifaceCount; i++)
            {
                var name = ReadString(record, ref at);
                var point = ReadString(record, ref at);
                ids[i] = catalog.Register(node, name, point, (PointRole)record[at++]).Id;
            }

            var count = BinaryPrimitives.ReadInt32LittleEndian(record[at..]);
            at += 4;
            if (count < 0 || (long)count * ObservationBytes != record.Length - at)
            {
                throw new FormatException($"journal record says {count} observations but holds {record.Length - at} bytes of them");
            }

            var observations = new Observation[count];
            for (var i = 0; i < count; i++)
            {
                var slot = record.Slice(at, ObservationBytes);
                observations[i] = ObservationLayout.ReadBody(slot[2..], ids[BinaryPrimitives.ReadUInt16LittleEndian(slot)], imported);
                at += ObservationBytes;
            }

            return new JournalBatch(node, instance, seq, observations);
        }
        catch (Exception ex) when (ex is ArgumentOutOfRangeException or IndexOutOfRangeException or ArgumentException)
        {
            throw new FormatException("journal record is truncated or malformed", ex);
        }
    }

    private static int Utf8(string text) => 2 + Encoding.UTF8.GetByteCount(text);

    private static int WriteString(Span<byte> span, string text)
    {
        var length = Encoding.UTF8.GetBytes(text, span[2..]);
        BinaryPrimitives.WriteUInt16LittleEndian(span, (ushort)length);
        return 2 + length;
    }

    private static string ReadString(ReadOnlySpan<byte> record, ref int at)
    {
        var length = BinaryPrimitives.ReadUInt16LittleEndian(record[at..]);
        var text = Encoding.UTF8.GetString(record.Slice(at + 2, length));
        at += 2 + length;
        return text;
    }
}
