using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;
using HopCapture.Packets.Files;
using HopCapture.Packets.Filters;
using Microsoft.Extensions.Logging;
using SharpPcap;
using SharpPcap.LibPcap;

namespace HopCapture.Agent.Capture;

/// <summary>
/// One libpcap handle on one interface for one direction. The kernel applies `inbound`/`outbound`
/// in BPF, so the direction is what the kernel says rather than a guess from MAC addresses
/// (which breaks on bridges and bonds, CAPTURE-NOTES.md).
/// </summary>
internal sealed class LiveCaptureHandle : IDisposable
{
    private readonly LibPcapLiveDevice _device;
    private readonly AgentInterface _iface;
    private readonly PacketDirection _direction;
    private readonly ObservationQueue _queue;
    private readonly ILogger _logger;
    private Thread? _thread;
    private volatile bool _stopping;
    private volatile bool _ended;
    private int _linkType;
    private TimestampResolution _resolution;

    public LiveCaptureHandle(PcapInterface pcapInterface, AgentInterface iface, PacketDirection direction, ObservationQueue queue, ILogger logger)
    {
        _device = new LibPcapLiveDevice(pcapInterface);
        _iface = iface;
        _direction = direction;
        _queue = queue;
        _logger = logger;
    }

    public long KernelDropped { get; private set; }

    /// <summary>The capture thread ended on its own (a read error: the interface went away), not by <see cref="Stop"/>.</summary>
    public bool Ended => _ended;

    public long InterfaceDropped { get; private set; }

    public void Open(AgentOptions options)
    {
        // Read timeout: a fallback wake-up; pcap_breakloop already interrupts a blocked read on libpcap 1.10.
        var configuration = PcapHandles.Configuration(options.Snaplen, options.BufferSizeMb, immediate: true, readTimeoutMs: 250);
        configuration.ConfigurationFailed += (_, e) => CaptureLog.ConfigurationFailed(_logger, _iface.Name, e.Property, e.Message);
        try
        {
            _device.Open(configuration);
            // Known libpcap (1.10) behaviour: after pcap_setfilter the first ring frame is filtered
            // in user space, where `inbound`/`outbound` (SKF_AD_PKTTYPE) cannot be evaluated, so
            // the first echo each handle sees after opening is lost. Every later frame is judged
            // by the kernel.
            _device.Filter = EchoFilter.Build(_direction == PacketDirection.In ? FilterDirection.Inbound : FilterDirection.Outbound, options.Tunnels);
        }
        catch (PcapException ex) when (IsPermission(ex))
        {
            throw new CaptureOpenException($"no permission to capture on {_iface.Name}: run as root or grant CAP_NET_RAW", permission: true, ex);
        }
        catch (PcapException ex)
        {
            throw new CaptureOpenException($"cannot capture on {_iface.Name}: {ex.Message.Trim()}", permission: false, ex);
        }

        _linkType = (int)_device.LinkType;
        _resolution = _device.TimestampResolution;
        if (!LinkType.IsSupported(_linkType))
        {
            throw new CaptureOpenException($"cannot capture on {_iface.Name}: link type {_device.LinkType} ({_linkType}) is not supported", permission: false);
        }
    }

    public void Start()
    {
        _thread = new Thread(Run)
        {
            IsBackground = true,
            Name = $"capture {_iface.Name} {_direction}",
            Priority = ThreadPriority.AboveNormal,
        };
        _thread.Start();
    }

    /// <summary>Copies pcap_stats into <see cref="KernelDropped"/> and <see cref="InterfaceDropped"/>.</summary>
    public void RefreshStatistics()
    {
        if (_stopping || !_device.Opened)
        {
            return;
        }

        try
        {
            var statistics = _device.Statistics;
            KernelDropped = statistics.DroppedPackets;
            InterfaceDropped = statistics.InterfaceDroppedPackets;
        }
        catch (PcapException)
        {
            // The handle died; the capture thread reports the error.
        }
    }

    public void Stop()
    {
        if (_stopping)
        {
            return;
        }

        _stopping = true;
        if (!PcapHandles.Stop(_device, _thread))
        {
            CaptureLog.StopTimedOut(_logger, _iface.Name);
        }
    }

    public void Dispose()
    {
        Stop();
        _device.Dispose();
    }

    private static bool IsPermission(PcapException ex) =>
        ex.Error is PcapError.PermissionDenied or PcapError.PromiscuousPermissionDenied
        || ex.Message.Contains("permission", StringComparison.OrdinalIgnoreCase)
        || ex.Message.Contains("not permitted", StringComparison.OrdinalIgnoreCase);

    // The hot loop: no allocation, no logging per packet. pcap_next_ex hands out pointers into
    // libpcap's ring; the frame is decoded in place and only a small struct leaves this thread.
    private unsafe void Run()
    {
        var counters = _iface.Counters;
        counters.Up = true;
        var header = IntPtr.Zero;
        var data = IntPtr.Zero;
        try
        {
            while (!_stopping)
            {
                var rc = _device.GetNextPacketPointers(ref header, ref data);
                if (rc == 1)
                {
                    counters.AddCaptured();
                    var frame = new ReadOnlySpan<byte>((void*)data, PcapPacketHeader.CaptureLength(header));
                    var status = EchoDecoder.Decode(frame, _linkType, PcapPacketHeader.WireLength(header), out var echo);
                    if (status == DecodeStatus.Ok)
                    {
                        var observation = new Observation(
                            _iface.Index, PcapPacketHeader.TimestampNs(header, _resolution), echo.Src, echo.Dst,
                            echo.Id, echo.Seq, echo.PayloadHash, echo.Type, _direction);
                        if (!_queue.TryWrite(new CapturedObservation(observation, echo.WireLength, echo.Vlan)))
                        {
                            counters.AddQueueDropped();
                        }
                    }
                    else if (status != DecodeStatus.NotEcho)
                    {
                        counters.AddMalformed();
                    }
                }
                else if (rc == 0)
                {
                    continue; // read timeout
                }
                else if (rc == -2)
                {
                    break; // pcap_breakloop
                }
                else
                {
                    var error = _device.LastError;
                    counters.Error = error;
                    counters.Up = false;
                    CaptureLog.CaptureFailed(_logger, _iface.Name, _direction, error);
                    _ended = true;
                    return;
                }
            }
        }
        catch (Exception ex) when (!_stopping)
        {
            counters.Error = ex.Message;
            counters.Up = false;
            CaptureLog.CaptureCrashed(_logger, _iface.Name, _direction, ex);
            _ended = true;
        }
    }
}
