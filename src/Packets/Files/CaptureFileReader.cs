using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;

namespace HopCapture.Packets.Files;

/// <summary>One echo read from a capture file; <see cref="FileInterface"/> indexes <see cref="CaptureFileReader.Interfaces"/>.</summary>
public readonly record struct CapturedEcho(long TimestampNs, DecodedEcho Echo, PacketDirection Direction, int FileInterface = 0)
{
    public Observation ToObservation(int iface) => new(
        iface, TimestampNs, Echo.Src, Echo.Dst, Echo.Id, Echo.Seq, Echo.PayloadHash, Echo.Type, Direction);
}

/// <summary>What a whole-file read produced and why it stopped.</summary>
public sealed record CaptureFileSummary(
    IReadOnlyList<Observation> Observations,
    long Records,
    long NotEcho,
    long Truncated,
    long Malformed,
    bool FileTruncated,
    string? Error);

/// <summary>
/// Streams echo packets out of a pcap or pcapng file with nanosecond timestamps. A file cut off
/// mid-record (a capture killed while writing) ends the read cleanly: everything before the cut
/// is kept and <see cref="FileTruncated"/> says so. Direction comes from pcapng epb_flags or the
/// Linux cooked header's packet type; plain pcap of Ethernet has none
/// (<see cref="PacketDirection.Unknown"/>).
/// </summary>
public sealed class CaptureFileReader : IDisposable
{
    private readonly CaptureFileParser _parser;

    private CaptureFileReader(CaptureFileParser parser) => _parser = parser;

    public string Path => _parser.Path;

    /// <summary>The link type of the file's first interface.</summary>
    public int LinkType => _parser.Interfaces.Count > 0 ? _parser.Interfaces[0].LinkType : 0;

    /// <summary>Interfaces described by the file so far (pcapng names them; pcap has one, unnamed).</summary>
    public IReadOnlyList<CaptureFileInterface> Interfaces => _parser.Interfaces;

    /// <summary>Records read from the file so far, echo or not.</summary>
    public long Records { get; private set; }

    public long NotEcho { get; private set; }

    public long Truncated { get; private set; }

    public long Malformed { get; private set; }

    /// <summary>Records of a pcapng interface whose link type the decoder does not read.</summary>
    public long UnsupportedLink { get; private set; }

    /// <summary>The file ended in the middle of a record.</summary>
    public bool FileTruncated => _parser.FileTruncated;

    /// <summary>Why reading stopped early (a cut or corrupt file), or null.</summary>
    public string? Error => _parser.Error;

    /// <summary>Bytes of the file consumed so far, and its size (for progress).</summary>
    public long Position => _parser.Position;

    public long Length => _parser.Length;

    /// <summary>Opens <paramref name="path"/>; throws <see cref="CaptureFileException"/> with a readable message.</summary>
    public static CaptureFileReader Open(string path) => Checked(CaptureFileParser.Open(path), path);

    /// <summary>Reads a capture from <paramref name="stream"/> (taken over); <paramref name="name"/> names it in messages.</summary>
    public static CaptureFileReader Open(Stream stream, string name) => Checked(CaptureFileParser.Open(stream, name), name);

    private static CaptureFileReader Checked(CaptureFileParser parser, string path)
    {
        if (!parser.IsPcapng && !Decoding.LinkType.IsSupported(parser.Interfaces[0].LinkType))
        {
            var linkType = parser.Interfaces[0].LinkType;
            parser.Dispose();
            throw new CaptureFileException($"capture file '{path}' has link type {linkType}, which the decoder does not read");
        }

        return new CaptureFileReader(parser);
    }

    /// <summary>Reads up to the next echo; false at the end of the file (or at a cut).</summary>
    public bool TryReadNext(out CapturedEcho echo)
    {
        echo = default;
        while (_parser.TryRead(out var record))
        {
            Records++;
            var status = EchoDecoder.Decode(record.Frame, record.LinkType, record.WireLength, out var decoded);
            switch (status)
            {
                case DecodeStatus.Ok:
                    var direction = record.Direction != PacketDirection.Unknown
                        ? record.Direction
                        : CookedDirection(record.Frame, record.LinkType);
                    echo = new CapturedEcho(record.TimestampNs, decoded, direction, record.InterfaceIndex);
                    return true;
                case DecodeStatus.NotEcho:
                    NotEcho++;
                    break;
                case DecodeStatus.Truncated:
                    Truncated++;
                    break;
                case DecodeStatus.UnsupportedLinkType:
                    UnsupportedLink++;
                    break;
                default:
                    Malformed++;
                    break;
            }
        }

        return false;
    }

    /// <summary>Reads a whole file into observations for interface <paramref name="iface"/>.</summary>
    public static CaptureFileSummary ReadObservations(string path, int iface)
    {
        using var reader = Open(path);
        var observations = new List<Observation>();
        while (reader.TryReadNext(out var echo))
        {
            observations.Add(echo.ToObservation(iface));
        }

        return new CaptureFileSummary(
            observations, reader.Records, reader.NotEcho, reader.Truncated, reader.Malformed, reader.FileTruncated, reader.Error);
    }

    /// <summary>
    /// The Linux cooked headers carry the kernel's packet type (tcpdump -i any): 4 is
    /// PACKET_OUTGOING, host/broadcast/multicast/otherhost were received.
    /// </summary>
    public static PacketDirection CookedDirection(ReadOnlySpan<byte> frame, int linkType)
    {
        int packetType;
        switch (linkType)
        {
            case Decoding.LinkType.LinuxSll when frame.Length >= 2:
                packetType = (frame[0] << 8) | frame[1];
                break;
            case Decoding.LinkType.LinuxSll2 when frame.Length >= 11:
                packetType = frame[10];
                break;
            default:
                return PacketDirection.Unknown;
        }

        return packetType switch
        {
            4 => PacketDirection.Out,
            <= 3 => PacketDirection.In,
            _ => PacketDirection.Unknown,
        };
    }

    public void Dispose() => _parser.Dispose();
}

/// <summary>A capture file that cannot be opened or read; the message names the file and the problem.</summary>
public sealed class CaptureFileException : Exception
{
    public CaptureFileException()
    {
    }

    public CaptureFileException(string message)
        : base(message)
    {
    }

    public CaptureFileException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
