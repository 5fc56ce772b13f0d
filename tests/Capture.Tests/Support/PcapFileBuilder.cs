using System.Buffers.Binary;
using System.Net;

namespace HopCapture.Tests.Support;

/// <summary>
/// Writes classic pcap files (nanosecond variant, Ethernet) of ICMP echo frames, as
/// `tcpdump -w --time-stamp-precision=nano` would, so tests replay real files through real readers.
/// </summary>
internal sealed class PcapFileBuilder : IDisposable
{
    private const uint NanosecondMagic = 0xA1B23C4D;
    private readonly BinaryWriter _writer;
    // Records are written sorted by time on Dispose, as a capture file would have them.
    private readonly List<(long TimestampNs, byte[] Frame)> _records = [];

    public PcapFileBuilder(string path, int snaplen = 262_144)
    {
        _writer = new BinaryWriter(File.Create(path));
        _writer.Write(NanosecondMagic);
        _writer.Write((ushort)2);
        _writer.Write((ushort)4);
        _writer.Write(0); // thiszone
        _writer.Write(0); // sigfigs
        _writer.Write(snaplen);
        _writer.Write(1); // LINKTYPE_ETHERNET
    }

    public int Count { get; private set; }

    /// <summary>Appends an echo request (type 8) or reply (type 0) with a 56-byte payload made from <paramref name="payloadSeed"/>.</summary>
    public void AddEcho(long timestampNs, IPAddress src, IPAddress dst, bool request, ushort id, ushort seq, ulong payloadSeed)
    {
        AddRaw(timestampNs, EchoFrame(src, dst, request, id, seq, payloadSeed));
    }

    /// <summary>Appends raw bytes as a record (for malformed-frame tests).</summary>
    public void AddRaw(long timestampNs, byte[] frame)
    {
        _records.Add((timestampNs, frame));
        Count++;
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
        foreach (var (timestampNs, frame) in _records.OrderBy(static r => r.TimestampNs))
        {
            _writer.Write((uint)(timestampNs / 1_000_000_000));
            _writer.Write((uint)(timestampNs % 1_000_000_000));
            _writer.Write(frame.Length);
            _writer.Write(frame.Length);
            _writer.Write(frame);
        }

        _records.Clear();
        _writer.Dispose();
    }

    private static ushort Checksum(ReadOnlySpan<byte> data) => HopCapture.Packets.Decoding.InternetChecksum.Compute(data);
}
