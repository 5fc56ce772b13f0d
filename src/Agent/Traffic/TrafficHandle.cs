using HopCapture.Agent.Capture;
using HopCapture.Engine.Model;
using HopCapture.Packets.Decoding;
using HopCapture.Packets.Files;
using Microsoft.Extensions.Logging;
using SharpPcap;
using SharpPcap.LibPcap;

namespace HopCapture.Agent.Traffic;

/// <summary>
/// One accounting handle: every frame of one direction on one interface (kernel BPF
/// <c>inbound</c> / <c>outbound</c>), headers only (or the ring's snap length), not immediate (frames arrive in batches,
/// timestamps stay exact), counted into the interface's <see cref="TrafficRecorder"/> and kept in its <see cref="PacketRing"/> when it has one.
/// </summary>
internal sealed class TrafficHandle : IDisposable
{
    private readonly LibPcapLiveDevice _device;
    private readonly string _iface;
    private readonly PacketDirection _direction;
    private readonly TrafficRecorder _recorder;
    private readonly PacketRing? _ring;
    private readonly ILogger _logger;
    private Thread? _thread;
    private volatile bool _stopping;
    private int _linkType;
    private TimestampResolution _resolution;

    public TrafficHandle(PcapInterface pcapInterface, string iface, PacketDirection direction, TrafficRecorder recorder, PacketRing? ring, ILogger logger)
    {
        _ring = ring;
        _device = new LibPcapLiveDevice(pcapInterface);
        _iface = iface;
        _direction = direction;
        _recorder = recorder;
        _logger = logger;
    }

    public long KernelDropped { get; private set; }

    public void Open(TrafficOptions options)
    {
        var configuration = PcapHandles.Configuration(options.CaptureSnaplen, options.BufferSizeMb, immediate: false, readTimeoutMs: 100);
        configuration.ConfigurationFailed += (_, e) => TrafficLog.ConfigurationFailed(_logger, _iface, e.Property, e.Message);
        try
        {
            _device.Open(configuration);
            _device.Filter = _direction == PacketDirection.In ? "inbound" : "outbound";
        }
        catch (PcapException ex)
        {
            throw new CaptureOpenException($"cannot account traffic on {_iface}: {ex.Message.Trim()}", permission: false, ex);
        }

        _linkType = (int)_device.LinkType;
        _resolution = _device.TimestampResolution;
        if (_ring is not null)
        {
            _ring.LinkType = _linkType;
        }

        _thread = new Thread(Run) { IsBackground = true, Name = $"traffic {_iface} {_direction}" };
        _thread.Start();
    }

    public void RefreshStatistics()
    {
        if (_stopping || !_device.Opened)
        {
            return;
        }

        try
        {
            KernelDropped = _device.Statistics.DroppedPackets;
        }
        catch (PcapException)
        {
            // The handle died with its interface; the thread has ended.
        }
    }

    public void Dispose()
    {
        if (!_stopping)
        {
            _stopping = true;
            PcapHandles.Stop(_device, _thread);
        }

        _device.Dispose();
    }

    // No allocation per packet: pointers into libpcap's ring, counted in place.
    private unsafe void Run()
    {
        var header = IntPtr.Zero;
        var data = IntPtr.Zero;
        try
        {
            while (!_stopping)
            {
                var rc = _device.GetNextPacketPointers(ref header, ref data);
                if (rc == 1)
                {
                    var frame = new ReadOnlySpan<byte>((void*)data, PcapPacketHeader.CaptureLength(header));
                    var tsNs = PcapPacketHeader.TimestampNs(header, _resolution);
                    var wireLength = PcapPacketHeader.WireLength(header);
                    _recorder.Record(tsNs, _direction, wireLength, frame, _linkType);
                    _ring?.Add(tsNs, _direction, wireLength, frame);
                }
                else if (rc < 0)
                {
                    if (rc != -2)
                    {
                        TrafficLog.Stopped(_logger, _iface, _direction, _device.LastError);
                    }

                    return;
                }
            }
        }
        catch (Exception ex) when (!_stopping)
        {
            TrafficLog.Crashed(_logger, _iface, _direction, ex);
        }
    }
}
