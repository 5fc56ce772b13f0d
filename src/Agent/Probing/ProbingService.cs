using System.Net;
using System.Net.Sockets;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Upload;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Threading.Channels;
using EchoType = HopCapture.Engine.Model.EchoType;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Agent.Probing;

/// <summary>
/// The active prober. Runs the standing probe plan and on-demand traces the correlator pushes
/// over the ingest stream, sends echo requests on a raw socket at their intervals (never faster
/// than <see cref="ProbeOptions.MaxRate"/> together) and reports the sender's own view as a
/// point of role app: the request at send time, the reply when the socket returned it. Those
/// observations take the normal upload path, so the correlator joins them with what the capture
/// points saw and charges the stack (socket → guest NIC) like any other segment.
/// </summary>
public sealed partial class ProbingService : BackgroundService
{
    private readonly ProbeOptions _options;
    private readonly AgentInterface _app;
    private readonly ObservationQueue _queue;
    private readonly IngestUploader _uploader;
    private readonly TimeProvider _time;
    private readonly ILogger<ProbingService> _logger;
    private readonly Lock _gate = new();
    private readonly List<Job> _jobs = [];
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly ushort _idBase = (ushort)Random.Shared.Next(0x10000);
    private IcmpSocket? _socket;
    private Thread? _receiver;
    private string _planId = "";
    private double _tokens;
    private long _tokensAtNs;
    private long _sent;
    private long _replies;

    public ProbingService(
        IOptions<ProbeOptions> options,
        AgentInterfaces interfaces,
        ObservationQueue queue,
        IngestUploader uploader,
        TimeProvider timeProvider,
        ILogger<ProbingService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(interfaces);
        _options = options.Value;
        _app = interfaces.All.FirstOrDefault(i => i.Role == PointRole.App)
            ?? throw new InvalidOperationException("probing is enabled but the agent lists no app interface");
        _queue = queue;
        _uploader = uploader;
        _time = timeProvider;
        _logger = logger;
    }

    public long Sent => Interlocked.Read(ref _sent);

    public long Replies => Interlocked.Read(ref _replies);

    public string PlanId
    {
        get
        {
            lock (_gate)
            {
                return _planId;
            }
        }
    }

    /// <summary>Targets of the standing plan (address strings), for logs and tests.</summary>
    public IReadOnlyList<string> PlanTargets
    {
        get
        {
            lock (_gate)
            {
                return [.. _jobs.Where(j => j.TraceId is null).Select(j => j.Target.ToString())];
            }
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            _socket = new IcmpSocket(_time);
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.AccessDenied or SocketError.OperationNotSupported)
        {
            throw new AgentStartupException(
                $"probing needs a raw ICMP socket (root or CAP_NET_RAW): {ex.Message}; set {ProbeOptions.Section}:Enabled=false to capture only", ex);
        }

        _receiver = new Thread(ReceiveLoop) { IsBackground = true, Name = "hopcapture-probe-rx" };
        _receiver.Start();
        _uploader.ControlReceived += OnControl;
        _tokens = _options.MaxRate;
        _tokensAtNs = NowNs();
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _uploader.ControlReceived -= OnControl;
        await base.StopAsync(cancellationToken);
        _socket?.Dispose();
        _receiver?.Join(TimeSpan.FromSeconds(2));
    }

    public override void Dispose()
    {
        _socket?.Dispose();
        base.Dispose();
    }

    /// <summary>Applies a command from the correlator (called on the uploader's receive loop: must not block).</summary>
    public void OnControl(Control control)
    {
        ArgumentNullException.ThrowIfNull(control);
        switch (control.CommandCase)
        {
            case Control.CommandOneofCase.ProbePlan:
                SetPlan(control.ProbePlan);
                _uploader.Report(new ControlResult { CommandId = control.CommandId, Ok = true });
                break;
            case Control.CommandOneofCase.Trace:
                var error = StartTrace(control.Trace);
                if (error is not null)
                {
                    _uploader.Report(new ControlResult { CommandId = control.CommandId, Ok = false, Error = error, Trace = new TraceStatus { TraceId = control.Trace.TraceId, Done = true } });
                }

                break;
        }

        Wake();
    }

    internal void SetPlan(ProbePlan plan)
    {
        var now = NowNs();
        lock (_gate)
        {
            var old = _jobs.Where(j => j.TraceId is null).ToDictionary(j => (j.Target, j.Plan));
            _jobs.RemoveAll(j => j.TraceId is null);
            foreach (var target in plan.Targets.Take(_options.MaxTargets))
            {
                if (!IPAddress.TryParse(target.Address, out var address) || address.AddressFamily != AddressFamily.InterNetwork)
                {
                    Log.BadTarget(_logger, target.Address, target.Plan);
                    continue;
                }

                var interval = Math.Max(target.IntervalNs, (long)_options.MinInterval.TotalNanoseconds);
                if (old.TryGetValue((address, target.Plan), out var kept))
                {
                    // Same target in the new plan: keep its id/seq sequence and schedule.
                    kept.IntervalNs = interval;
                    kept.Size = (int)target.Size;
                    _jobs.Add(kept);
                    continue;
                }

                _jobs.Add(new Job(address, (ushort)(_idBase + ProbePayload.Tag(address.ToString())), ProbePayload.Tag(plan.PlanId))
                {
                    Plan = target.Plan,
                    IntervalNs = interval,
                    Size = (int)target.Size,

                    // Spread the first sends over one interval so a big plan does not burst.
                    NextDueNs = now + Random.Shared.NextInt64(Math.Max(1, interval)),
                });
            }

            _planId = plan.PlanId;
        }

        Log.PlanApplied(_logger, plan.PlanId, plan.Targets.Count);
    }

    internal string? StartTrace(TraceRequest trace)
    {
        if (!IPAddress.TryParse(trace.Target, out var address) || address.AddressFamily != AddressFamily.InterNetwork)
        {
            return $"trace target '{trace.Target}' is not an IPv4 address";
        }

        if (trace.Count == 0)
        {
            return "trace count must be at least 1";
        }

        lock (_gate)
        {
            _jobs.Add(new Job(address, (ushort)trace.IcmpId, ProbePayload.Tag(trace.TraceId))
            {
                TraceId = trace.TraceId,
                Remaining = (int)trace.Count,
                IntervalNs = Math.Max(trace.IntervalNs, (long)_options.MinInterval.TotalNanoseconds),
                Size = (int)trace.Size,
                NextDueNs = NowNs(),
                Seq = 1, // like ping: icmp_seq starts at 1
            });
        }

        Log.TraceStarted(_logger, trace.TraceId, trace.Target, trace.Count);
        return null;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            long wait;
            try
            {
                wait = SendDue();
            }
            catch (Exception ex)
            {
                Log.SendFailed(_logger, ex);
                wait = 1_000_000_000;
            }

            using var timer = new CancellationTokenSource(TimeSpan.FromTicks(Math.Clamp(wait / 100, 1, TimeSpan.TicksPerSecond)), _time);
            using var linked = CancellationTokenSource.CreateLinkedTokenSource(timer.Token, stoppingToken);
            try
            {
                await _wake.Reader.ReadAsync(linked.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                // the next probe is due
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Sends every due probe the rate allows; returns ns until the next one is due.</summary>
    private long SendDue()
    {
        var now = NowNs();
        List<(Job Job, ControlResult Result)>? reports = null;
        long next = long.MaxValue;
        lock (_gate)
        {
            _tokens = Math.Min(_options.MaxRate, _tokens + (now - _tokensAtNs) / 1e9 * _options.MaxRate);
            _tokensAtNs = now;
            foreach (var job in _jobs.OrderBy(j => j.NextDueNs).ToList())
            {
                if (job.NextDueNs > now)
                {
                    next = Math.Min(next, job.NextDueNs - now);
                    continue;
                }

                if (_tokens < 1)
                {
                    next = Math.Min(next, (long)(1e9 / _options.MaxRate));
                    break;
                }

                _tokens--;
                SendOne(job);
                job.NextDueNs = Math.Max(job.NextDueNs + job.IntervalNs, now - job.IntervalNs);
                if (job.TraceId is not null)
                {
                    job.Sent++;
                    job.Remaining--;
                    if (job.Sent == 1 || job.Remaining == 0)
                    {
                        (reports ??= []).Add((job, new ControlResult
                        {
                            CommandId = job.TraceId,
                            Ok = true,
                            Trace = new TraceStatus { TraceId = job.TraceId, Sent = (uint)job.Sent, Done = job.Remaining == 0, Src = job.Source?.ToString() ?? "", IcmpId = job.Id },
                        }));
                    }

                    if (job.Remaining == 0)
                    {
                        _jobs.Remove(job);
                        continue;
                    }
                }

                next = Math.Min(next, Math.Max(0, job.NextDueNs - now));
            }
        }

        foreach (var (_, result) in reports ?? [])
        {
            _uploader.Report(result);
        }

        return next == long.MaxValue ? 1_000_000_000 : next;
    }

    private void SendOne(Job job)
    {
        try
        {
            job.Source ??= IcmpSocket.SourceFor(job.Target);
            var size = job.Size == 0 ? ProbePayload.DefaultSize : Math.Clamp(job.Size, ProbePayload.MinSize, ProbePayload.MaxSize);
            var seq = (ushort)job.Seq++;
            var sendNs = _socket!.Send(job.Target, job.Id, seq, size, job.Tag);
            Span<byte> header = stackalloc byte[ProbePayload.HeaderBytes];
            ProbePayload.Write(header, sendNs, job.Tag);
            Emit(new Observation(_app.Index, sendNs, IpAddress128.FromIPAddress(job.Source), IpAddress128.FromIPAddress(job.Target),
                job.Id, seq, ProbePayload.Hash(header), EchoType.Request, PacketDirection.Out), (uint)(28 + size));
            Interlocked.Increment(ref _sent);
        }
        catch (SocketException ex)
        {
            // No route, unreachable network…: the probe is not sent and so not counted as lost.
            job.Source = null;
            Log.SendRefused(_logger, job.Target, ex.Message);
        }
    }

    private void ReceiveLoop()
    {
        var buffer = new byte[65536];
        while (_socket!.TryReceive(buffer, out var reply))
        {
            try
            {
                var echo = reply.Echo;
                Emit(new Observation(_app.Index, reply.ReceiveNs, echo.Src, echo.Dst, echo.Id, echo.Seq, echo.PayloadHash, EchoType.Reply, PacketDirection.In), echo.WireLength);
                Interlocked.Increment(ref _replies);
            }
            catch (Exception ex)
            {
                Log.ReceiveFailed(_logger, ex);
            }
        }
    }

    private void Emit(in Observation observation, uint wireLength)
    {
        if (_queue.TryWrite(new CapturedObservation(observation, wireLength, 0)))
        {
            _app.Counters.AddCaptured();
        }
        else
        {
            _app.Counters.AddQueueDropped();
        }
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private long NowNs() => (_time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100;

    private sealed class Job(IPAddress target, ushort id, uint tag)
    {
        public IPAddress Target { get; } = target;

        public ushort Id { get; } = id;

        public uint Tag { get; } = tag;

        public IPAddress? Source { get; set; }

        public string Plan { get; init; } = "";

        public string? TraceId { get; init; }

        public long IntervalNs { get; set; }

        public int Size { get; set; }

        public long NextDueNs { get; set; }

        public int Seq { get; set; }

        public int Sent { get; set; }

        public int Remaining { get; set; } = -1;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Probe plan {Plan} applied: {Targets} targets")]
        public static partial void PlanApplied(ILogger logger, string plan, int targets);

        [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Probe target '{Target}' of plan {Plan} is not an IPv4 address; skipped")]
        public static partial void BadTarget(ILogger logger, string target, string plan);

        [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "Trace {Trace} to {Target}: {Count} probes")]
        public static partial void TraceStarted(ILogger logger, string trace, string target, uint count);

        [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "Sending probes failed")]
        public static partial void SendFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 6005, Level = LogLevel.Debug, Message = "Probe to {Target} not sent: {Reason}")]
        public static partial void SendRefused(ILogger logger, IPAddress target, string reason);

        [LoggerMessage(EventId = 6006, Level = LogLevel.Error, Message = "Handling a probe reply failed")]
        public static partial void ReceiveFailed(ILogger logger, Exception exception);
    }
}
