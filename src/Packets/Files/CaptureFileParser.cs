using System.Buffers.Binary;
using System.Text;
using HopCapture.Engine.Model;

namespace HopCapture.Packets.Files;

/// <summary>An interface described by the capture file (pcapng IDB, or the one of a pcap file).</summary>
public sealed record CaptureFileInterface(int Index, int LinkType, string? Name);

/// <summary>One record of a capture file; <see cref="Frame"/> is valid until the next read.</summary>
public readonly ref struct CaptureRecord
{
    public CaptureRecord(long timestampNs, int interfaceIndex, int linkType, ReadOnlySpan<byte> frame, uint wireLength, PacketDirection direction)
    {
        TimestampNs = timestampNs;
        InterfaceIndex = interfaceIndex;
        LinkType = linkType;
        Frame = frame;
        WireLength = wireLength;
        Direction = direction;
    }

    public long TimestampNs { get; }

    public int InterfaceIndex { get; }

    public int LinkType { get; }

    public ReadOnlySpan<byte> Frame { get; }

    public uint WireLength { get; }

    /// <summary>From pcapng epb_flags; <see cref="PacketDirection.Unknown"/> when the file does not say.</summary>
    public PacketDirection Direction { get; }
}

/// <summary>
/// Reads pcap (µs and ns, either byte order) and pcapng (several sections and interfaces, EPB and
/// the obsolete PB) straight from a buffered stream, without libpcap: libpcap's pcap_next_ex hides
/// the pcapng interface of a packet, its name and the epb_flags direction, which offline analysis
/// needs, and a span over our own buffer costs no P/Invoke per packet. A file that ends inside a
/// record stops the read with <see cref="FileTruncated"/>; everything before is delivered.
/// </summary>
public sealed class CaptureFileParser : IDisposable
{
    private const uint PcapMicro = 0xA1B2C3D4;
    private const uint PcapNano = 0xA1B23C4D;
    private const uint PcapngSectionHeader = 0x0A0D0D0A;
    private const uint PcapngByteOrder = 0x1A2B3C4D;
    private const int MaxRecord = 16 << 20;

    private readonly Stream _stream;
    private readonly string _path;
    private readonly bool _pcapng;
    private readonly List<IfaceState> _interfaces = [];
    private readonly List<CaptureFileInterface> _described = [];
    private byte[] _buffer = new byte[1 << 20];
    private int _start;
    private int _end;
    private bool _eof;
    private bool _bigEndian;
    private bool _nanosecond;
    private int _pcapLinkType;

    private CaptureFileParser(Stream stream, string path)
    {
        _stream = stream;
        _path = path;
        Fill(24);
        if (Available < 4)
        {
            throw new CaptureFileException($"capture file '{path}' cannot be read: it is empty or shorter than a file header");
        }

        var magic = BinaryPrimitives.ReadUInt32LittleEndian(Span(4));
        if (magic == PcapngSectionHeader)
        {
            _pcapng = true;
            return;
        }

        (_bigEndian, _nanosecond) = magic switch
        {
            PcapMicro => (false, false),
            PcapNano => (false, true),
            _ when BinaryPrimitives.ReverseEndianness(magic) == PcapMicro => (true, false),
            _ when BinaryPrimitives.ReverseEndianness(magic) == PcapNano => (true, true),
            _ => throw new CaptureFileException(
                $"capture file '{path}' cannot be read: not a pcap or pcapng file (starts with 0x{magic:x8})"),
        };
        if (Available < 24)
        {
            throw new CaptureFileException($"capture file '{path}' cannot be read: the pcap file header is cut short");
        }

        // The upper bits of the link type field carry FCS information (pcap spec, LinkType).
        _pcapLinkType = (int)(U32(Span(24)[20..]) & 0x0FFF_FFFF);
        _described.Add(new CaptureFileInterface(0, _pcapLinkType, null));
        _interfaces.Add(new IfaceState(_pcapLinkType, 0, 1, 0));
        _start += 24;
    }

    public string Path => _path;

    public bool IsPcapng => _pcapng;

    /// <summary>Interfaces seen so far (pcapng describes them as it goes).</summary>
    public IReadOnlyList<CaptureFileInterface> Interfaces => _described;

    /// <summary>The file ended in the middle of a record or block.</summary>
    public bool FileTruncated { get; private set; }

    /// <summary>Why reading stopped early, or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Bytes consumed so far (for progress).</summary>
    public long Position { get; private set; }

    public long Length => _stream.CanSeek ? _stream.Length : 0;

    /// <summary>Opens <paramref name="path"/>; throws <see cref="CaptureFileException"/> with a readable message.</summary>
    public static CaptureFileParser Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new CaptureFileException($"capture file '{path}' does not exist");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CaptureFileException($"capture file '{path}' cannot be read: {ex.Message}", ex);
        }

        try
        {
            return new CaptureFileParser(stream, path);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads a capture from <paramref name="stream"/> (taken over: disposed with the parser);
    /// <paramref name="name"/> names it in messages. Throws <see cref="CaptureFileException"/>.
    /// </summary>
    public static CaptureFileParser Open(Stream stream, string name)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentNullException.ThrowIfNull(name);
        try
        {
            return new CaptureFileParser(stream, name);
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    /// <summary>Reads the next packet record; false at the end of the file, at a cut, or at corruption (see <see cref="Error"/>).</summary>
    public bool TryRead(out CaptureRecord record)
    {
        record = default;
        if (Error is not null)
        {
            return false;
        }

        return _pcapng ? TryReadPcapng(out record) : TryReadPcap(out record);
    }

    public void Dispose() => _stream.Dispose();

    private int Available => _end - _start;

    private ReadOnlySpan<byte> Span(int length) => _buffer.AsSpan(_start, length);

    private uint U32(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt32BigEndian(b) : BinaryPrimitives.ReadUInt32LittleEndian(b);

    private ushort U16(ReadOnlySpan<byte> b) => _bigEndian ? BinaryPrimitives.ReadUInt16BigEndian(b) : BinaryPrimitives.ReadUInt16LittleEndian(b);

    private bool TryReadPcap(out CaptureRecord record)
    {
        record = default;
        if (!Ensure(16, "record header"))
        {
            return false;
        }

        var header = Span(16);
        long seconds = U32(header);
        long fraction = U32(header[4..]);
        var captured = U32(header[8..]);
        var wire = U32(header[12..]);
        if (captured > MaxRecord)
        {
            return Corrupt($"a record claims {captured} captured bytes");
        }

        if (!Ensure(16 + (int)captured, "record"))
        {
            return false;
        }

        var frame = _buffer.AsSpan(_start + 16, (int)captured);
        Consume(16 + (int)captured);
        var ns = (seconds * 1_000_000_000L) + (_nanosecond ? fraction : fraction * 1000);
        record = new CaptureRecord(ns, 0, _pcapLinkType, frame, wire, PacketDirection.Unknown);
        return true;
    }

    private bool TryReadPcapng(out CaptureRecord record)
    {
        record = default;
        while (true)
        {
            if (!Ensure(12, "block header"))
            {
                return false;
            }

            var type = BinaryPrimitives.ReadUInt32LittleEndian(Span(4));
            if (type == PcapngSectionHeader)
            {
                // The byte-order magic decides how this section's lengths are read.
                var order = BinaryPrimitives.ReadUInt32LittleEndian(Span(12)[8..]);
                _bigEndian = order != PcapngByteOrder;
                if (_bigEndian && BinaryPrimitives.ReverseEndianness(order) != PcapngByteOrder)
                {
                    return Corrupt("a pcapng section header has no valid byte-order magic");
                }

                _interfaces.Clear();
            }
            else if (_bigEndian)
            {
                type = BinaryPrimitives.ReverseEndianness(type);
            }

            var length = U32(Span(8)[4..]);
            if (length < 12 || length % 4 != 0 || length > MaxRecord)
            {
                return Corrupt($"a pcapng block has an invalid length {length}");
            }

            if (!Ensure((int)length, "block"))
            {
                return false;
            }

            var block = _buffer.AsSpan(_start, (int)length);
            var body = block[8..^4];
            Consume((int)length);
            switch (type)
            {
                case 1:
                    AddInterface(body);
                    break;
                case 6 when body.Length >= 20:
                {
                    var iface = (int)U32(body);
                    // Unsigned: a length of 2^31 or more must not turn negative and pass the check (found by fuzzing).
                    var capturedLength = U32(body[12..]);
                    if ((uint)iface >= (uint)_interfaces.Count || capturedLength > (uint)(body.Length - 20))
                    {
                        return Corrupt($"an enhanced packet block names interface {iface} or overruns its block");
                    }

                    var captured = (int)capturedLength;
                    var padded = (captured + 3) & ~3;
                    var direction = padded <= body.Length - 20 ? FlagsDirection(body[(20 + padded)..]) : PacketDirection.Unknown;
                    var ts = ((ulong)U32(body[4..]) << 32) | U32(body[8..]);
                    var state = _interfaces[iface];
                    record = new CaptureRecord(state.ToNs(ts), state.DescribedIndex, state.LinkType, body.Slice(20, captured), U32(body[16..]), direction);
                    return true;
                }

                case 2 when body.Length >= 20:
                {
                    // Obsolete Packet Block (old Wireshark files): 16-bit interface id.
                    var iface = U16(body);
                    var capturedLength = U32(body[12..]);
                    if (iface >= _interfaces.Count || capturedLength > (uint)(body.Length - 20))
                    {
                        return Corrupt($"a packet block names interface {iface} or overruns its block");
                    }

                    var captured = (int)capturedLength;

                    var ts = ((ulong)U32(body[4..]) << 32) | U32(body[8..]);
                    var state = _interfaces[iface];
                    record = new CaptureRecord(state.ToNs(ts), state.DescribedIndex, state.LinkType, body.Slice(20, captured), U32(body[16..]), PacketDirection.Unknown);
                    return true;
                }

                default:
                    // Section headers, simple packet blocks (no timestamp: useless here), name
                    // resolution, statistics and custom blocks are skipped.
                    break;
            }
        }
    }

    private void AddInterface(ReadOnlySpan<byte> body)
    {
        if (body.Length < 8)
        {
            return;
        }

        var linkType = U16(body);
        string? name = null;
        var resolution = (byte)6;
        long offsetSeconds = 0;
        var options = body[8..];
        while (options.Length >= 4)
        {
            var code = U16(options);
            var length = U16(options[2..]);
            if (code == 0 || 4 + length > options.Length)
            {
                break;
            }

            var value = options.Slice(4, length);
            switch (code)
            {
                case 2:
                    name = Encoding.UTF8.GetString(value).TrimEnd('\0');
                    break;
                case 9 when length >= 1:
                    resolution = value[0];
                    break;
                case 14 when length >= 8:
                    offsetSeconds = _bigEndian ? BinaryPrimitives.ReadInt64BigEndian(value) : BinaryPrimitives.ReadInt64LittleEndian(value);
                    break;
                default:
                    break;
            }

            options = options[Math.Min(options.Length, 4 + ((length + 3) & ~3))..];
        }

        var described = new CaptureFileInterface(_described.Count, linkType, string.IsNullOrEmpty(name) ? null : name);
        _described.Add(described);
        _interfaces.Add(IfaceState.Create(linkType, described.Index, resolution, offsetSeconds));
    }

    private PacketDirection FlagsDirection(ReadOnlySpan<byte> options)
    {
        while (options.Length >= 4)
        {
            var code = U16(options);
            var length = U16(options[2..]);
            if (code == 0 || 4 + length > options.Length)
            {
                break;
            }

            if (code == 2 && length >= 4)
            {
                return (U32(options[4..]) & 0x3) switch
                {
                    1 => PacketDirection.In,
                    2 => PacketDirection.Out,
                    _ => PacketDirection.Unknown,
                };
            }

            options = options[Math.Min(options.Length, 4 + ((length + 3) & ~3))..];
        }

        return PacketDirection.Unknown;
    }

    private bool Corrupt(string problem)
    {
        Error = $"capture file '{_path}' is corrupt at byte {Position}: {problem}; reading stopped there";
        return false;
    }

    /// <summary>Makes <paramref name="length"/> bytes available; false at a clean end or a cut (recorded).</summary>
    private bool Ensure(int length, string what)
    {
        if (Available >= length)
        {
            return true;
        }

        Fill(length);
        if (Available >= length)
        {
            return true;
        }

        if (Available > 0)
        {
            FileTruncated = true;
            Error = $"capture file '{_path}' is truncated: the last {what} is cut off after {Available} of {length} bytes (at byte {Position}); everything before it was read";
        }

        return false;
    }

    private void Fill(int length)
    {
        if (_eof)
        {
            return;
        }

        if (length > _buffer.Length)
        {
            var bigger = new byte[Math.Max(length, _buffer.Length * 2)];
            _buffer.AsSpan(_start, Available).CopyTo(bigger);
            _end = Available;
            _start = 0;
            _buffer = bigger;
        }
        else if (_start > 0)
        {
            _buffer.AsSpan(_start, Available).CopyTo(_buffer);
            _end = Available;
            _start = 0;
        }

        while (_end < length || _end < _buffer.Length / 2)
        {
            var read = _stream.Read(_buffer, _end, _buffer.Length - _end);
            if (read == 0)
            {
                _eof = true;
                return;
            }

            _end += read;
        }
    }

    private void Consume(int length)
    {
        _start += length;
        Position += length;
    }

    /// <summary>Per-section interface state: link type and how its timestamps count.</summary>
    private readonly record struct IfaceState(int LinkType, int DescribedIndex, long UnitsPerSecond, long OffsetSeconds)
    {
        public static IfaceState Create(int linkType, int described, byte resolution, long offsetSeconds)
        {
            // if_tsresol: MSB clear = 10^-n seconds, set = 2^-n seconds (pcapng spec 4.2).
            var n = resolution & 0x7F;
            long units = (resolution & 0x80) == 0
                ? (n <= 18 ? (long)Math.Pow(10, n) : 1_000_000)
                : (n <= 62 ? 1L << n : 1_000_000);
            return new IfaceState(linkType, described, units, offsetSeconds);
        }

        public long ToNs(ulong ts)
        {
            var seconds = (long)(ts / (ulong)UnitsPerSecond);
            var fraction = (long)(ts % (ulong)UnitsPerSecond);
            var ns = UnitsPerSecond == 1_000_000_000
                ? fraction
                : (long)((UInt128)(ulong)fraction * 1_000_000_000 / (ulong)UnitsPerSecond);
            return ((seconds + OffsetSeconds) * 1_000_000_000L) + ns;
        }
    }
}
