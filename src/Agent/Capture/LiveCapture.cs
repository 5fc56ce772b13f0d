using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Logging;
using SharpPcap.LibPcap;

namespace HopCapture.Agent.Capture;

/// <summary>A running live capture of one interface, as the reconciler sees it.</summary>
internal interface ILiveCapture : IDisposable
{
    /// <summary>The ifindex the capture was opened on: another one for the same name means the interface was re-created.</summary>
    int IfIndex { get; }

    /// <summary>A capture thread stopped on its own (the interface went away, a read error); the counters hold the error.</summary>
    bool Failed { get; }

    /// <summary>Copies the kernel's drop counters into the interface's counters.</summary>
    void RefreshStatistics();
}

/// <summary>Opens a live capture; throws <see cref="CaptureOpenException"/> with a one-line reason when it cannot.</summary>
internal delegate ILiveCapture LiveCaptureOpener(AgentInterface iface, int ifIndex);

/// <summary>The two kernel-filtered libpcap handles (in, out) of one interface.</summary>
internal sealed class PcapLiveCapture : ILiveCapture
{
    private readonly AgentInterface _iface;
    private readonly LiveCaptureHandle _inbound;
    private readonly LiveCaptureHandle _outbound;

    private PcapLiveCapture(AgentInterface iface, int ifIndex, LiveCaptureHandle inbound, LiveCaptureHandle outbound)
    {
        _iface = iface;
        IfIndex = ifIndex;
        _inbound = inbound;
        _outbound = outbound;
    }

    public int IfIndex { get; }

    public bool Failed => _inbound.Ended || _outbound.Ended;

    /// <summary>
    /// pcap_findalldevs runs only here, when something is to be opened, never on the idle poll
    /// (it walks every interface and costs milliseconds).
    /// </summary>
    public static ILiveCapture Open(AgentOptions options, ObservationQueue queue, ILogger logger, AgentInterface iface, int ifIndex)
    {
        var pcapInterface = PcapInterface.GetAllPcapInterfaces().FirstOrDefault(p => p.Name == iface.Name)
            ?? throw new CaptureOpenException($"interface '{iface.Name}' is not known to libpcap", permission: false);
        var inbound = new LiveCaptureHandle(pcapInterface, iface, PacketDirection.In, queue, logger);
        var outbound = new LiveCaptureHandle(pcapInterface, iface, PacketDirection.Out, queue, logger);
        try
        {
            inbound.Open(options);
            outbound.Open(options);
        }
        catch
        {
            inbound.Dispose();
            outbound.Dispose();
            throw;
        }

        iface.Counters.Error = null;
        inbound.Start();
        outbound.Start();
        return new PcapLiveCapture(iface, ifIndex, inbound, outbound);
    }

    public void RefreshStatistics()
    {
        _inbound.RefreshStatistics();
        _outbound.RefreshStatistics();
        _iface.Counters.SetKernelCounters(_inbound.KernelDropped + _outbound.KernelDropped, _inbound.InterfaceDropped + _outbound.InterfaceDropped);
    }

    public void Dispose()
    {
        // Kernel counters start again at zero on the next handle: keep what these counted.
        RefreshStatistics();
        _iface.Counters.RetireKernelCounters();
        _inbound.Stop();
        _outbound.Stop();
        _iface.Counters.Up = false;
        _inbound.Dispose();
        _outbound.Dispose();
    }
}

/// <summary>A capture could not be opened; <see cref="Permission"/> when the process may not capture at all.</summary>
internal sealed class CaptureOpenException(string message, bool permission, Exception? innerException = null) : Exception(message, innerException)
{
    public bool Permission { get; } = permission;
}
