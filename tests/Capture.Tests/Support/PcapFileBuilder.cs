using System.Buffers.Binary;
using System.Net;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Support;

/// <summary>The file formats tcpdump writes.</summary>
internal enum PcapFormat
{
    /// <summary>pcap with nanosecond timestamps (tcpdump --time-stamp-precision=nano).</summary>
    Nanosecond,

    /// <summary>pcap with microsecond timestamps (tcpdump's default).</summary>
    Microsecond,

    /// <summary>pcapng (tcpdump on newer systems, Wireshark, dumpcap), nanosecond if_tsresol.</summary>
    Pcapng,
}

/// <summary>
/// Writes capture files of ICMP echo frames as tcpdump would — pcap (ns or µs) or pcapng with
/// several named interfaces, Ethernet or Linux cooked (SLL/SLL2) link types, VLAN tags, a snaplen
/// that cuts frames — so tests replay real files through real readers.
/// </summary>
internal sealed class PcapFileBuilder : IDisposable
{
    private const uint NanosecondMagic = 0xA1B23C4D;
    private const uint MicrosecondMagic = 0xA1B2C3D4;
    private readonly BinaryWriter _writer;
    private readonly PcapFormat _format;
    private readonly int _snaplen;
    private readonly List<(string? Name, int LinkType)> _interfaces = [];
    // Records are written sorted by time on Dispose, as a capture file would have them.
    private readonly List<Record> _records = [];

    public PcapFileBuilder(string path, int snaplen = 262_144, PcapFormat format = PcapFormat.Nanosecond, int linkType = 1)
    {
        _writer = new BinaryWriter(File.Create(path));
        _format = format;
        _snaplen = snaplen;
        if (format == PcapFormat.Pcapng)
        {
            WriteSectionHeader();
            return;
        }

        _interfaces.Add((null, linkType));
        _writer.Write(format == PcapFormat.Nanosecond ? NanosecondMagic : MicrosecondMagic);
        _writer.Write((ushort)2);
        _writer.Write((ushort)4);
        _writer.Write(0); // thiszone
        _writer.Write(0); // sigfigs
        _writer.Write(snaplen);
        _writer.Write(linkType);
    }

    public int Count { get; private set; }

    /// <summary>pcapng only: describes an interface (written now, before any packet); returns its index.</summary>
    public int AddInterface(string? name, int linkType = 1)
    {
        if (_format != PcapFormat.Pcapng)
        {
            throw new InvalidOperationException("only pcapng files describe several interfaces");
        }

        _interfaces.Add((name, linkType));
        var options = new MemoryStream();
        using (var o = new BinaryWriter(options, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            if (name is not null)
            {
                WriteOption(o, 2, System.Text.Encoding.UTF8.GetBytes(name));
            }

            WriteOption(o, 9, [9]); // if_tsresol: 10^-9
            o.Write(0); // opt_endofopt
        }

        var body = new byte[8 + options.Length];
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)linkType);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(4), _snaplen);
        options.ToArray().CopyTo(body, 8);
        WriteBlock(1, body);
        return _interfaces.Count - 1;
    }

    /// <summary>
    /// Appends an echo request (type 8) or reply (type 0) with a 56-byte payload made from
    /// <paramref name="payloadSeed"/>; <paramref name="direction"/> goes into epb_flags (pcapng) or the
    /// cooked header's packet type (SLL/SLL2), <paramref name="vlan"/> &gt; 0 adds an 802.1Q tag.
    /// </summary>
    public void AddEcho(long timestampNs, IPAddress src, IPAddress dst, bool request, ushort id, ushort seq, ulong payloadSeed,
        PacketDirection direction = PacketDirection.Unknown, int iface = 0, ushort vlan = 0)
    {
        var frame = EchoFrame(src, dst, request, id, seq, payloadSeed);
        if (vlan > 0)
        {
            frame = [.. frame.AsSpan(0, 12), 0x81, 0x00, (byte)(vlan >> 8), (byte)vlan, .. frame.AsSpan(12)];
        }

        _records.Add(new Record(timestampNs, frame, iface, direction, Encapsulate: true));
        Count++;
    }

    /// <summary>Appends raw bytes as a record (for malformed-frame tests).</summary>
    public void AddRaw(long timestampNs, byte[] frame)
    {
        _records.Add(new Record(timestampNs, frame, 0, PacketDirection.Unknown, Encapsulate: false));
        Count++;
    }

    /// <summary>Cuts <paramref name="bytes"/> off the end of a written file, as a capture killed mid-write leaves it.</summary>
    public static void Truncate(string path, int bytes)
    {
        using var stream = new FileStream(path, FileMode.Open);
        stream.SetLength(stream.Length - bytes);
    }

    public static byte[] EchoFrame(IPAddress src, IPAddress dst, bool request, ushort id, ushort seq, ulong payloadSeed)
    {
        const int payloadLength = 56;
        var frame = new byte[14 + 20 + 8 + payloadLength];
        var span = frame.AsSpan();
        // Locally administered MACs derived from the addresses keep frames distinct per host.
        span[0] = 0x02;
        dst.GetAddressBytes().CopyTo(span[2..6]);
        span[6] = 0x02;
        src.GetAddressBytes().CopyTo(span[8..12]);
        BinaryPrimitives.WriteUInt16BigEndian(span[12..], 0x0800);

        var ip = span.Slice(14, 20);
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip[2..], (ushort)(20 + 8 + payloadLength));
        BinaryPrimitives.WriteUInt16BigEndian(ip[4..], seq);
        ip[6] = 0x40; // DF
        ip[8] = 64;
        ip[9] = 1;
        src.GetAddressBytes().CopyTo(ip[12..16]);
        dst.GetAddressBytes().CopyTo(ip[16..20]);
        BinaryPrimitives.WriteUInt16BigEndian(ip[10..], Checksum(ip));

        var icmp = span[34..];
        icmp[0] = request ? (byte)8 : (byte)0;
        BinaryPrimitives.WriteUInt16BigEndian(icmp[4..], id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp[6..], seq);
        for (var i = 0; i < payloadLength; i += 8)
        {
            BinaryPrimitives.WriteUInt64BigEndian(icmp[(8 + i)..], payloadSeed + (ulong)i);
        }

        BinaryPrimitives.WriteUInt16BigEndian(icmp[2..], Checksum(icmp));
        return frame;
    }

    public void Dispose()
    {
        foreach (var record in _records.OrderBy(static r => r.TimestampNs))
        {
            var linkType = _interfaces[record.Iface].LinkType;
            var frame = record.Encapsulate ? Encapsulated(record.Frame, linkType, record.Direction) : record.Frame;
            var captured = Math.Min(frame.Length, _snaplen);
            if (_format == PcapFormat.Pcapng)
            {
                WritePacketBlock(record, frame, captured);
                continue;
            }

            _writer.Write((uint)(record.TimestampNs / 1_000_000_000));
            var fraction = record.TimestampNs % 1_000_000_000;
            _writer.Write((uint)(_format == PcapFormat.Nanosecond ? fraction : fraction / 1000));
            _writer.Write(captured);
            _writer.Write(frame.Length);
            _writer.Write(frame, 0, captured);
        }

        _records.Clear();
        _writer.Dispose();
    }

    /// <summary>The Ethernet frame re-framed for the link type: Linux cooked v1/v2 carry the packet type.</summary>
    private static byte[] Encapsulated(byte[] ethernet, int linkType, PacketDirection direction)
    {
        // PACKET_HOST (0) for received, PACKET_OUTGOING (4) for sent; unknown: received.
        var packetType = direction == PacketDirection.Out ? (byte)4 : (byte)0;
        var payload = ethernet.AsSpan(12); // ethertype (or VLAN tag) onwards
        switch (linkType)
        {
            case 1:
                return ethernet;
            case 113:
            {
                var sll = new byte[16 + payload.Length - 2];
                sll[1] = packetType;
                sll[3] = 1; // ARPHRD_ETHER
                sll[5] = 6;
                ethernet.AsSpan(6, 6).CopyTo(sll.AsSpan(6));
                payload.CopyTo(sll.AsSpan(14));
                return sll;
            }

            case 276:
            {
                var sll2 = new byte[20 + payload.Length - 2];
                payload[..2].CopyTo(sll2);
                BinaryPrimitives.WriteInt32BigEndian(sll2.AsSpan(4), 7); // ifindex
                sll2[9] = 1; // ARPHRD_ETHER (low byte)
                sll2[10] = packetType;
                sll2[11] = 6;
                ethernet.AsSpan(6, 6).CopyTo(sll2.AsSpan(12));
                payload[2..].CopyTo(sll2.AsSpan(20));
                return sll2;
            }

            default:
                throw new NotSupportedException($"link type {linkType}");
        }
    }

    private void WriteSectionHeader()
    {
        var body = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(body, 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), 1);
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), -1); // section length unknown
        WriteBlock(0x0A0D0D0A, body);
    }

    private void WritePacketBlock(Record record, byte[] frame, int captured)
    {
        var padded = (captured + 3) & ~3;
        var flags = record.Direction switch
        {
            PacketDirection.In => 1u,
            PacketDirection.Out => 2u,
            _ => 0u,
        };
        var body = new byte[20 + padded + (flags != 0 ? 12 : 0)];
        var span = body.AsSpan();
        BinaryPrimitives.WriteInt32LittleEndian(span, record.Iface);
        var ts = (ulong)record.TimestampNs;
        BinaryPrimitives.WriteUInt32LittleEndian(span[4..], (uint)(ts >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)ts);
        BinaryPrimitives.WriteInt32LittleEndian(span[12..], captured);
        BinaryPrimitives.WriteInt32LittleEndian(span[16..], frame.Length);
        frame.AsSpan(0, captured).CopyTo(span[20..]);
        if (flags != 0)
        {
            var options = span[(20 + padded)..];
            BinaryPrimitives.WriteUInt16LittleEndian(options, 2); // epb_flags
            BinaryPrimitives.WriteUInt16LittleEndian(options[2..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(options[4..], flags);
        }

        WriteBlock(6, body);
    }

    private void WriteBlock(uint type, byte[] body)
    {
        var length = 12 + body.Length;
        _writer.Write(type);
        _writer.Write(length);
        _writer.Write(body);
        _writer.Write(length);
    }

    private static void WriteOption(BinaryWriter writer, ushort code, byte[] value)
    {
        writer.Write(code);
        writer.Write((ushort)value.Length);
        writer.Write(value);
        writer.Write(new byte[((value.Length + 3) & ~3) - value.Length]);
    }

    private sealed record Record(long TimestampNs, byte[] Frame, int Iface, PacketDirection Direction, bool Encapsulate);

    private static ushort Checksum(ReadOnlySpan<byte> data) => HopCapture.Packets.Decoding.InternetChecksum.Compute(data);
}
