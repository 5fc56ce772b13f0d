using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Upload;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SharpPcap.LibPcap;

namespace HopCapture.Agent.Traffic;

/// <summary>
/// Keeps traffic accounting on every live interface the echo capture captures (opened when the
/// interface's state becomes capturing, closed when it is gone or re-created) and answers the
/// correlator's <see cref="TrafficRequest"/>s over the control stream. Recorders outlive their
/// handles, so a tap that is re-created keeps its history.
/// </summary>
public sealed class TrafficAccounting : BackgroundService
{
    /// <summary>Flows per interface when the request does not say.</summary>
    public const int DefaultTop = 10;

    /// <summary>A slice stays below the correlator's 4 MiB message limit (Correlator:MaxMessageBytes default).</summary>
    public const int MaxSliceBytes = 3 * 1024 * 1024;

    private readonly TrafficOptions _options;
    private readonly AgentOptions _agent;
    private readonly AgentInterfaces _interfaces;
    private readonly IngestUploader _uploader;
    private readonly TimeProvider _time;
    private readonly ILogger<TrafficAccounting> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, TrafficRecorder> _recorders = new(StringComparer.Ordinal);
    private readonly Dictionary<string, PacketRing> _rings = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Open> _open = new(StringComparer.Ordinal);

    public TrafficAccounting(
        IOptions<TrafficOptions> options,
        IOptions<AgentOptions> agent,
        AgentInterfaces interfaces,
        IngestUploader uploader,
        TimeProvider timeProvider,
        ILogger<TrafficAccounting> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(agent);
        _options = options.Value;
        _agent = agent.Value;
        _interfaces = interfaces;
        _uploader = uploader;
        _time = timeProvider;
        _logger = logger;
    }

    /// <summary>Interfaces with an open accounting capture now.</summary>
    public IReadOnlyCollection<string> Accounted
    {
        get
        {
            lock (_gate)
            {
                return [.. _open.Keys];
            }
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _uploader.ControlReceived += OnControl;
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _uploader.ControlReceived -= OnControl;
        await base.StopAsync(cancellationToken);
        lock (_gate)
        {
            foreach (var open in _open.Values)
            {
                open.Dispose();
            }

            _open.Clear();
        }
    }

    /// <summary>The accounting of <paramref name="request"/>'s window, one window per interface asked for.</summary>
    public TrafficReport Query(TrafficRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var top = request.Top == 0 ? DefaultTop : (int)Math.Min(request.Top, 1000);
        var live = _interfaces.All.Where(i => i.Role != PointRole.App && !i.Replay).ToList();
        var names = request.Interfaces.Count + request.Points.Count > 0
            ? [.. request.Interfaces.Union(live.Where(i => request.Points.Contains(i.Point)).Select(i => i.Name))]
            : live.Select(i => i.Name).ToList();
        var report = new TrafficReport();
        foreach (var name in names)
        {
            var iface = _interfaces.All.FirstOrDefault(i => i.Name == name);
            var window = new TrafficWindow
            {
                Iface = name,
                Point = iface?.Point ?? "",
                Role = iface is null ? Role.Unspecified : iface.Role.ToProto(),
                FromNs = request.FromNs,
                ToNs = request.ToNs,
                SpeedMbps = LinkSpeed.Mbps(name),
            };
            TrafficRecorder? recorder;
            lock (_gate)
            {
                _recorders.TryGetValue(name, out recorder);
                if (_open.TryGetValue(name, out var open))
                {
                    window.KernelDropped = (ulong)open.KernelDropped();
                }
            }

            if (recorder is null)
            {
                window.Error = !_options.Enabled ? $"traffic accounting is off ({TrafficOptions.Section}:Enabled)"
                    : iface is null ? $"'{name}' is not an interface of this agent"
                    : $"'{name}' is not accounted ({iface.State.ToString().ToLowerInvariant()})";
                report.Windows.Add(window);
                continue;
            }

            Fill(window, recorder.Query(request.FromNs, request.ToNs, top));
            report.Windows.Add(window);
        }

        return report;
    }

    internal static void Fill(TrafficWindow window, TrafficSnapshot snapshot)
    {
        window.BucketNs = snapshot.BucketNs;
        window.KeptFromNs = snapshot.KeptFromNs;
        window.SampleEvery = (uint)snapshot.SampleEvery;
        window.UnattributedBytes = (ulong)snapshot.UnattributedBytes;
        window.InBytes = (ulong)snapshot.InBytes;
        window.InPackets = (ulong)snapshot.InPackets;
        window.OutBytes = (ulong)snapshot.OutBytes;
        window.OutPackets = (ulong)snapshot.OutPackets;
        foreach (var b in snapshot.Buckets)
        {
            window.Buckets.Add(new TrafficBucket
            {
                StartNs = b.StartNs, InBytes = (ulong)b.InBytes, InPackets = (ulong)b.InPackets, OutBytes = (ulong)b.OutBytes, OutPackets = (ulong)b.OutPackets,
            });
        }

        foreach (var f in snapshot.Flows)
        {
            window.Flows.Add(new TrafficFlow
            {
                Src = ContractMapping.AddressBytes(f.Flow.Src),
                Dst = ContractMapping.AddressBytes(f.Flow.Dst),
                Protocol = f.Flow.Protocol,
                SrcPort = f.Flow.SrcPort,
                DstPort = f.Flow.DstPort,
                Direction = f.Direction.ToProto(),
                Bytes = (ulong)f.Bytes,
                Packets = (ulong)f.Packets,
            });
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled || _agent.ReplayOnly)
        {
            return;
        }

        using var timer = new PeriodicTimer(_agent.InterfacePoll, _time);
        do
        {
            try
            {
                Follow();
            }
            catch (Exception ex)
            {
                TrafficLog.FollowFailed(_logger, ex);
            }
        }
        while (await NextTickAsync(timer, stoppingToken));
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Opens accounting on interfaces the echo capture captures live, closes it on those it stopped.</summary>
    private void Follow()
    {
        var wanted = _interfaces.All
            .Where(i => i is { State: InterfaceState.Capturing, Replay: false } && i.Role != PointRole.App && i.IfIndex > 0)
            .ToDictionary(i => i.Name, i => i.IfIndex, StringComparer.Ordinal);
        List<Open> closing = [];
        lock (_gate)
        {
            foreach (var (name, open) in _open.Where(o => !wanted.TryGetValue(o.Key, out var ifIndex) || ifIndex != o.Value.IfIndex).ToList())
            {
                closing.Add(open);
                _open.Remove(name);
            }
        }

        foreach (var open in closing)
        {
            open.Dispose();
        }

        foreach (var (name, ifIndex) in wanted)
        {
            lock (_gate)
            {
                if (_open.ContainsKey(name))
                {
                    continue;
                }
            }

            TryOpen(name, ifIndex);
        }
    }

    private void TryOpen(string name, int ifIndex)
    {
        TrafficRecorder recorder;
        PacketRing? ring = null;
        lock (_gate)
        {
            if (!_recorders.TryGetValue(name, out recorder!))
            {
                recorder = new TrafficRecorder(_options.Recorder);
                _recorders[name] = recorder;
            }

            if (_options.RingMb > 0 && !_rings.TryGetValue(name, out ring))
            {
                ring = new PacketRing(_options.RingMb * 1024 * 1024, _options.RingSnaplen, _options.RingMaxAge);
                _rings[name] = ring;
            }
        }

        var pcapInterface = PcapInterface.GetAllPcapInterfaces().FirstOrDefault(p => p.Name == name);
        if (pcapInterface is null)
        {
            return; // vanished between the capture's poll and ours
        }

        var inbound = new TrafficHandle(pcapInterface, name, PacketDirection.In, recorder, ring, _logger);
        var outbound = new TrafficHandle(pcapInterface, name, PacketDirection.Out, recorder, ring, _logger);
        try
        {
            inbound.Open(_options);
            outbound.Open(_options);
        }
        catch (CaptureOpenException ex)
        {
            inbound.Dispose();
            outbound.Dispose();
            TrafficLog.OpenFailed(_logger, ex.Message);
            return;
        }

        lock (_gate)
        {
            _open[name] = new Open(ifIndex, inbound, outbound);
        }

        TrafficLog.Accounting(_logger, name, _options.CaptureSnaplen, _options.Bucket.TotalMilliseconds, _options.Retention.TotalSeconds, recorder.MemoryBytes / 1024);
    }

    /// <summary>A time slice of <paramref name="request"/>'s interface's ring as pcapng, at most <see cref="MaxSliceBytes"/>.</summary>
    public PcapSlice Slice(PcapSliceRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var slice = new PcapSlice { Iface = request.Iface };
        PacketRing? ring;
        lock (_gate)
        {
            _rings.TryGetValue(request.Iface, out ring);
        }

        if (ring is null)
        {
            slice.Error = _options.RingMb == 0
                ? $"no packet ring on this agent ({TrafficOptions.Section}:RingMb is 0)"
                : $"'{request.Iface}' has no packet ring (not an accounted interface of this agent)";
            return slice;
        }

        using var output = new MemoryStream();
        var limit = request.MaxBytes == 0 ? MaxSliceBytes : Math.Min(request.MaxBytes, MaxSliceBytes);
        var (packets, truncated) = ring.WriteSlice(output, request.Iface, request.FromNs, request.ToNs, limit);
        slice.Pcapng = Google.Protobuf.ByteString.CopyFrom(output.GetBuffer(), 0, (int)output.Length);
        slice.Packets = (uint)packets;
        slice.Truncated = truncated;
        return slice;
    }

    /// <summary>Applies a command (called on the uploader's receive loop: answered off it).</summary>
    private void OnControl(Control control)
    {
        if (control.CommandCase is not (Control.CommandOneofCase.Traffic or Control.CommandOneofCase.PcapSlice))
        {
            return;
        }

        _ = Task.Run(() =>
        {
            try
            {
                _uploader.Report(control.CommandCase == Control.CommandOneofCase.Traffic
                    ? new ControlResult { CommandId = control.CommandId, Ok = true, Traffic = Query(control.Traffic) }
                    : new ControlResult { CommandId = control.CommandId, Ok = true, PcapSlice = Slice(control.PcapSlice) });
            }
            catch (Exception ex)
            {
                TrafficLog.RequestFailed(_logger, control.CommandId, ex);
                _uploader.Report(new ControlResult { CommandId = control.CommandId, Ok = false, Error = ex.Message });
            }
        });
    }

    private sealed class Open(int ifIndex, TrafficHandle inbound, TrafficHandle outbound) : IDisposable
    {
        public int IfIndex { get; } = ifIndex;

        public long KernelDropped()
        {
            inbound.RefreshStatistics();
            outbound.RefreshStatistics();
            return inbound.KernelDropped + outbound.KernelDropped;
        }

        public void Dispose()
        {
            inbound.Dispose();
            outbound.Dispose();
        }
    }
}
