using System.Runtime.InteropServices;

namespace HopCapture.Agent.Capture;

/// <summary>What exists on the node: the reconciler's view of the kernel's interfaces.</summary>
public interface INetworkLinks
{
    /// <summary>The interface's kernel ifindex, or 0 when no interface has that name.</summary>
    int IfIndex(string name);
}

/// <summary>
/// if_nametoindex(3): one socket, one SIOCGIFINDEX ioctl, one close — about 5 µs per name
/// (measured in NetworkLinksTests), so polling a few dozen names each second costs well under a
/// millisecond of CPU. It answers for the calling thread's network namespace (unlike
/// /sys/class/net, which shows the namespace sysfs was mounted in), so the reconciler, whose
/// thread is started from <c>StartAsync</c>, sees the namespace the agent was started in.
/// </summary>
public sealed partial class KernelLinks : INetworkLinks
{
    public static readonly KernelLinks Instance = new();

    public int IfIndex(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return name.Length is 0 or >= 16 ? 0 : (int)if_nametoindex(name);
    }

    [LibraryImport("libc", EntryPoint = "if_nametoindex", StringMarshalling = StringMarshalling.Utf8)]
    private static partial uint if_nametoindex(string name);
}
