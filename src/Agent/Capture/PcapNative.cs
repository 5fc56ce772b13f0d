using System.Reflection;
using System.Runtime.InteropServices;

namespace HopCapture.Agent.Capture;

/// <summary>The one libpcap call SharpPcap does not expose: waking a blocked pcap_next_ex.</summary>
internal static partial class PcapNative
{
    private const string Library = "hopcapture-pcap";
    private static readonly string[] Candidates = ["libpcap.so.1", "libpcap.so.0.8", "libpcap.so", "libpcap.dylib", "wpcap"];

    static PcapNative()
    {
        NativeLibrary.SetDllImportResolver(typeof(PcapNative).Assembly, Resolve);
    }

    /// <summary>Makes pcap_next_ex return PCAP_ERROR_BREAK; libpcap 1.10 also wakes a blocked poll.</summary>
    public static void BreakLoop(SafeHandle handle)
    {
        var added = false;
        try
        {
            handle.DangerousAddRef(ref added);
            pcap_breakloop(handle.DangerousGetHandle());
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name != Library)
        {
            return IntPtr.Zero;
        }

        foreach (var candidate in Candidates)
        {
            if (NativeLibrary.TryLoad(candidate, assembly, path, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    [LibraryImport(Library)]
    private static partial void pcap_breakloop(IntPtr p);
}
