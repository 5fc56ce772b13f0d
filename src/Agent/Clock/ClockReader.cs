using System.Runtime.InteropServices;
using HopCapture.Protos;

namespace HopCapture.Agent.Clock;

/// <summary>
/// Reads the kernel's clock discipline (adjtimex with modes = 0, read only) so the correlator
/// knows how far this node's timestamps can be trusted against other nodes.
/// </summary>
public partial class ClockReader
{
    // struct timex (linux/timex.h) on 64-bit Linux: unsigned int modes (+4 pad), then longs
    // offset, freq, maxerror, esterror, then int status. 208 bytes; 256 leaves headroom.
    private const int TimexSize = 256;
    private const int MaxErrorOffset = 24;
    private const int EstErrorOffset = 32;
    private const int StatusOffset = 40;
    private const int StaUnsync = 0x0040;
    private const int TimeError = 5;

    /// <summary>The current status; "unknown" when adjtimex is not available.</summary>
    public virtual ClockStatus Read()
    {
        if (!OperatingSystem.IsLinux() || IntPtr.Size != 8)
        {
            return new ClockStatus { Source = "unknown" };
        }

        Span<byte> timex = stackalloc byte[TimexSize];
        timex.Clear();
        int state;
        unsafe
        {
            fixed (byte* p = timex)
            {
                state = Adjtimex(p);
            }
        }

        if (state < 0)
        {
            return new ClockStatus { Source = "unknown" };
        }

        var status = MemoryMarshal.Read<int>(timex[StatusOffset..]);
        var maxError = MemoryMarshal.Read<long>(timex[MaxErrorOffset..]);
        var estError = MemoryMarshal.Read<long>(timex[EstErrorOffset..]);
        return new ClockStatus
        {
            Synchronized = (status & StaUnsync) == 0 && state != TimeError,
            EstimatedErrorNs = estError * 1000,
            MaxErrorNs = maxError * 1000,
            Source = "adjtimex",
        };
    }

    [LibraryImport("libc", EntryPoint = "adjtimex", SetLastError = true)]
    private static unsafe partial int Adjtimex(byte* timex);
}
