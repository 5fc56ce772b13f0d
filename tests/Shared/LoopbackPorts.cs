using System.Net;
using System.Net.Sockets;

namespace HopCapture.Tests.Shared;

/// <summary>Loopback ports for servers a test starts (or restarts) on a port it must know first.</summary>
public static class LoopbackPorts
{
    /// <summary>A loopback port that was free a moment ago: bound, read, released.</summary>
    public static int Free()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
