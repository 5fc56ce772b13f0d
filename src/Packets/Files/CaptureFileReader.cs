using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;
using SharpPcap;
using SharpPcap.LibPcap;

namespace HopCapture.Packets.Files;

/// <summary>One echo read from a capture file.</summary>
public readonly record struct CapturedEcho(long TimestampNs, DecodedEcho Echo, PacketDirection Direction)
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
/// is kept and <see cref="FileTruncated"/> says so. pcapng direction flags are not exposed by
/// libpcap's pcap_next_ex, so direction is <see cref="PacketDirection.Unknown"/>.
/// </summary>
public sealed class CaptureFileReader : IDisposable
{
    private readonly CaptureFileReaderDevice _device;
    private readonly int _linkType;
    private readonly TimestampResolution _resolution;
    private bool _finished;

    private CaptureFileReader(CaptureFileReaderDevice device)
    {
        _device = device;
        _linkType = (int)device.LinkType;
        _resolution = device.TimestampResolution;
    }

    public string Path => _device.FileName;

    public int LinkType => _linkType;

    /// <summary>Records read from the file so far, echo or not.</summary>
    public long Records { get; private set; }

    public long NotEcho { get; private set; }

    public long Truncated { get; private set; }

    public long Malformed { get; private set; }

    /// <summary>The file ended in the middle of a record.</summary>
    public bool FileTruncated { get; private set; }

    /// <summary>Why reading stopped early (a cut or corrupt file), or null.</summary>
    public string? Error { get; private set; }

    /// <summary>Opens <paramref name="path"/>; throws <see cref="CaptureFileException"/> with a readable message.</summary>
    public static CaptureFileReader Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new CaptureFileException($"capture file '{path}' does not exist");
        }

        var device = new CaptureFileReaderDevice(path);
        try
        {
            device.Open(new DeviceConfiguration { TimestampResolution = TimestampResolution.Nanosecond });
        }
        catch (PcapException ex)
        {
            device.Dispose();
            throw new CaptureFileException($"capture file '{path}' cannot be read: {ex.Message.Trim()}", ex);
        }

        if (!Decoding.LinkType.IsSupported((int)device.LinkType))
        {
            var linkType = device.LinkType;
            device.Dispose();
            throw new CaptureFileException($"capture file '{path}' has link type {linkType} ({(int)linkType}), which the decoder does not read");
        }

        return new CaptureFileReader(device);
    }

    /// <summary>Reads up to the next echo; false at the end of the file (or at a cut).</summary>
    public bool TryReadNext(out CapturedEcho echo)
    {
        echo = default;
        while (!_finished)
        {
            var header = IntPtr.Zero;
            var data = IntPtr.Zero;
            var rc = _device.GetNextPacketPointers(ref header, ref data);
            if (rc != 1)
            {
                _finished = true;
                if (rc == -1)
                {
                    // libpcap reports a short record as "truncated dump file; tried to read …".
                    Error = _device.LastError;
                    FileTruncated = Error?.Contains("truncated", StringComparison.OrdinalIgnoreCase) == true;
                }

                return false;
            }

            Records++;
            var status = Decode(header, data, out var decoded);
            switch (status)
            {
                case DecodeStatus.Ok:
                    echo = new CapturedEcho(PcapPacketHeader.TimestampNs(header, _resolution), decoded, PacketDirection.Unknown);
                    return true;
                case DecodeStatus.NotEcho:
                    NotEcho++;
                    break;
                case DecodeStatus.Truncated:
                    Truncated++;
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

    public void Dispose() => _device.Dispose();

    private unsafe DecodeStatus Decode(IntPtr header, IntPtr data, out DecodedEcho decoded)
    {
        var frame = new ReadOnlySpan<byte>((void*)data, PcapPacketHeader.CaptureLength(header));
        return EchoDecoder.Decode(frame, _linkType, PcapPacketHeader.WireLength(header), out decoded);
    }
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
