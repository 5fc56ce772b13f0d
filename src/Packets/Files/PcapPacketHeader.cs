using System.Runtime.InteropServices;
using SharpPcap;

namespace HopCapture.Packets.Files;

/// <summary>
/// Reads libpcap's <c>struct pcap_pkthdr</c> in place. SharpPcap's <c>PosixTimeval.Date</c> rounds
/// to 100 ns DateTime ticks, so the raw seconds and fraction are read here instead.
/// </summary>
public static class PcapPacketHeader
{
    // struct pcap_pkthdr { struct timeval ts; bpf_u_int32 caplen; bpf_u_int32 len; } with a
    // C long per timeval field, which is pointer-sized on the Linux targets the agent runs on.
    private static readonly int TimevalFieldSize = IntPtr.Size;

    /// <summary>Unix nanoseconds of the header at <paramref name="header"/>.</summary>
    public static long TimestampNs(IntPtr header, TimestampResolution resolution)
    {
        long seconds = IntPtr.Size == 8 ? Marshal.ReadInt64(header) : Marshal.ReadInt32(header);
        long fraction = IntPtr.Size == 8 ? Marshal.ReadInt64(header, TimevalFieldSize) : Marshal.ReadInt32(header, TimevalFieldSize);
        return (seconds * 1_000_000_000L) + (resolution == TimestampResolution.Nanosecond ? fraction : fraction * 1000);
    }

    /// <summary>Bytes captured (pcap "caplen").</summary>
    public static int CaptureLength(IntPtr header) => Marshal.ReadInt32(header, 2 * TimevalFieldSize);

    /// <summary>Bytes on the wire (pcap "len").</summary>
    public static uint WireLength(IntPtr header) => (uint)Marshal.ReadInt32(header, (2 * TimevalFieldSize) + 4);
}
