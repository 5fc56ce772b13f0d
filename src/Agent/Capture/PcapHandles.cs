using SharpPcap;
using SharpPcap.LibPcap;

namespace HopCapture.Agent.Capture;

/// <summary>What every live libpcap handle of the agent shares: how it is configured and how its reading thread is stopped.</summary>
internal static class PcapHandles
{
    /// <summary>Host timestamps in nanoseconds (CAPTURE-NOTES.md); the kernel ring in MiB.</summary>
    public static DeviceConfiguration Configuration(int snaplen, int bufferSizeMb, bool immediate, int readTimeoutMs) => new()
    {
        Snaplen = snaplen,
        BufferSize = bufferSizeMb * 1024 * 1024,
        Immediate = immediate,
        ReadTimeout = readTimeoutMs,
        TimestampResolution = TimestampResolution.Nanosecond,
        TimestampType = TimestampType.Host,
    };

    /// <summary>Wakes the blocked pcap_next_ex (pcap_breakloop) and waits up to 3 s for the thread; false when it did not end.</summary>
    public static bool Stop(LibPcapLiveDevice device, Thread? thread)
    {
        if (device.Opened)
        {
            PcapNative.BreakLoop(device.Handle);
        }

        return thread is null || thread.Join(TimeSpan.FromSeconds(3));
    }
}
