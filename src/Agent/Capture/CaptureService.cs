using HopCapture.Agent.Configuration;
using HopCapture.Agent.Discovery;
using HopCapture.Engine.Model;
using HopCapture.Packets.Files;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Capture;

/// <summary>
/// Keeps live capture in line with what the <see cref="IInterfaceSource"/> wants and what exists
/// on the node: every <see cref="AgentOptions.InterfacePoll"/> it opens a capture (two
/// kernel-filtered handles) on each wanted interface that exists and is not captured, closes the
/// capture of one that vanished or was re-created (another ifindex: reopened), and records each
/// entry's state in <see cref="AgentInterfaces"/> (capturing, waiting, gone, error). A missing
/// interface is waited for, never fatal: Proxmox creates a VM's tap when the VM starts. What is
/// still fatal at start: no permission to capture at all, an unreadable replay file.
/// Replay interfaces are read once from their files, as before.
/// </summary>
public sealed class CaptureService : IHostedService, IDisposable
{
    /// <summary>How long an interface whose capture failed while it exists waits before the next open.</summary>
    public static readonly TimeSpan RetryAfterError = TimeSpan.FromSeconds(10);

    private readonly AgentOptions _options;
    private readonly AgentInterfaces _interfaces;
    private readonly ObservationQueue _queue;
    private readonly IInterfaceSource _source;
    private readonly INetworkLinks _links;
    private readonly TimeProvider _time;
    private readonly ILogger<CaptureService> _logger;
    private readonly LiveCaptureOpener _open;
    private readonly Lock _gate = new();
    private readonly Dictionary<int, ILiveCapture> _live = [];
    private readonly Dictionary<int, DateTimeOffset> _retryAt = [];
    private readonly List<Task> _replays = [];
    private readonly CancellationTokenSource _stopping = new();
    private HashSet<string> _warnings = [];
    private Thread? _poller;
    private int _disposed;

    /// <summary>The configured interfaces, the kernel's view, the system clock.</summary>
    public CaptureService(IOptions<AgentOptions> options, AgentInterfaces interfaces, ObservationQueue queue, ILogger<CaptureService> logger)
        : this(options, interfaces, queue, new StaticInterfaceSource(options), KernelLinks.Instance, TimeProvider.System, logger)
    {
    }

    [ActivatorUtilitiesConstructor]
    public CaptureService(
        IOptions<AgentOptions> options,
        AgentInterfaces interfaces,
        ObservationQueue queue,
        IInterfaceSource source,
        INetworkLinks links,
        TimeProvider timeProvider,
        ILogger<CaptureService> logger)
        : this(options, interfaces, queue, source, links, timeProvider, logger, null)
    {
    }

    internal CaptureService(
        IOptions<AgentOptions> options,
        AgentInterfaces interfaces,
        ObservationQueue queue,
        IInterfaceSource source,
        INetworkLinks links,
        TimeProvider timeProvider,
        ILogger<CaptureService> logger,
        LiveCaptureOpener? open)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Value;
        _interfaces = interfaces;
        _queue = queue;
        _source = source;
        _links = links;
        _time = timeProvider;
        _logger = logger;
        _open = open ?? ((iface, ifIndex) => PcapLiveCapture.Open(_options, _queue, _logger, iface, ifIndex));
        _interfaces.AddRefresher(RefreshStatistics);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            StartReplays();
            Reconcile(startup: true);
        }
        catch
        {
            StopAll();
            throw;
        }

        if (_options.ReplayOnly)
        {
            // Replay only: the queue completes when the files are read, which lets the uploader
            // finish once everything is acked.
            _ = Task.WhenAll(_replays).ContinueWith(_ => _queue.Complete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            return Task.CompletedTask;
        }

        // A thread of its own, started from here: it inherits the network namespace of the
        // thread that started the agent, which if_nametoindex and pcap answer for.
        _poller = new Thread(PollLoop) { IsBackground = true, Name = "interface reconciler" };
        _poller.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        _poller?.Join(TimeSpan.FromSeconds(5));
        StopAll();
        await Task.WhenAll(_replays).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        _queue.Complete();
    }

    public void Dispose()
    {
        // The container disposes us twice: as the singleton and as the hosted-service factory result.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stopping.Cancel();
        _poller?.Join(TimeSpan.FromSeconds(5));
        StopAll();
        _stopping.Dispose();
    }

    /// <summary>
    /// One pass: what the source wants against what exists. Cheap when nothing changes: one
    /// <see cref="INetworkLinks.IfIndex"/> per wanted interface; libpcap is asked only to open.
    /// </summary>
    public void Reconcile() => Reconcile(startup: false);

    private void Reconcile(bool startup)
    {
        var wanted = _source.Current();
        ReportWarnings(wanted.Warnings);
        lock (_gate)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            foreach (var discovered in wanted.Interfaces)
            {
                names.Add(discovered.Name);
                var entry = _interfaces.GetOrAdd(discovered);
                if (!entry.Replay && entry.Role != PointRole.App)
                {
                    Follow(entry, _links.IfIndex(entry.Name), startup);
                }
            }

            // Entries the source no longer names (discovery: the VM was destroyed) stop being captured.
            foreach (var entry in _interfaces.All)
            {
                if (!names.Contains(entry.Name) && !entry.Replay && entry.Role != PointRole.App && entry.State != InterfaceState.Gone
                    && (entry.State != InterfaceState.Waiting || entry.EverCaptured))
                {
                    Close(entry);
                    Set(entry, InterfaceState.Gone, "no longer discovered");
                }
            }
        }
    }

    private void Follow(AgentInterface entry, int ifIndex, bool startup)
    {
        _live.TryGetValue(entry.Index, out var capture);
        if (capture is not null && (ifIndex == 0 || capture.IfIndex != ifIndex || capture.Failed))
        {
            var recreated = ifIndex != 0 && capture.IfIndex != ifIndex;
            if (recreated)
            {
                CaptureLog.Recreated(_logger, entry.Name, capture.IfIndex, ifIndex);
            }

            Close(entry);
            if (ifIndex != 0 && !recreated)
            {
                // The capture died on an interface that is still there: not at once again, the
                // same error would follow within the second.
                Set(entry, InterfaceState.Error, entry.Counters.Error ?? "capture stopped");
                _retryAt[entry.Index] = _time.GetUtcNow() + RetryAfterError;
                return;
            }

            capture = null;
        }

        if (ifIndex == 0)
        {
            if (entry.EverCaptured)
            {
                if (Set(entry, InterfaceState.Gone, $"vanished at {_time.GetUtcNow():yyyy-MM-dd HH:mm:ss}Z; waiting for it to return", keepDetail: true))
                {
                    CaptureLog.Gone(_logger, entry.Name);
                }
            }
            else if (Set(entry, InterfaceState.Waiting, "not present on this node", keepDetail: true))
            {
                CaptureLog.Waiting(_logger, entry.Name, entry.Role, entry.Point);
            }

            return;
        }

        if (capture is not null
            || (_retryAt.TryGetValue(entry.Index, out var retryAt) && _time.GetUtcNow() < retryAt && entry.IfIndex == ifIndex))
        {
            return;
        }

        _retryAt.Remove(entry.Index);
        try
        {
            _live[entry.Index] = _open(entry, ifIndex);
            Set(entry, InterfaceState.Capturing, null, ifIndex: ifIndex);
            CaptureLog.Capturing(_logger, entry.Name, entry.Role, entry.Point);
        }
        catch (CaptureOpenException ex) when (!(startup && ex.Permission))
        {
            entry.Counters.Error = ex.Message;
            _retryAt[entry.Index] = _time.GetUtcNow() + RetryAfterError;
            if (Set(entry, InterfaceState.Error, ex.Message, ifIndex: ifIndex))
            {
                CaptureLog.OpenFailed(_logger, ex.Message, RetryAfterError.TotalSeconds);
            }
        }
        catch (CaptureOpenException ex)
        {
            // No permission to capture at all: restarting will not fix it.
            throw new AgentStartupException(ex.Message, ex);
        }
    }

    /// <summary>Sets the state; "keepDetail" keeps the detail of an unchanged state (the time it vanished).</summary>
    private bool Set(AgentInterface entry, InterfaceState state, string? detail, bool keepDetail = false, int ifIndex = 0) =>
        !(keepDetail && entry.State == state) && _interfaces.SetState(entry, state, detail, ifIndex);

    private void Close(AgentInterface entry)
    {
        if (_live.Remove(entry.Index, out var capture))
        {
            capture.Dispose();
        }
    }

    private void ReportWarnings(IReadOnlyList<string> warnings)
    {
        if (warnings.Count == 0 && _warnings.Count == 0)
        {
            return;
        }

        // Each distinct warning once while it lasts, not once a second.
        var current = warnings.ToHashSet(StringComparer.Ordinal);
        foreach (var warning in current.Where(w => !_warnings.Contains(w)))
        {
            CaptureLog.SourceWarning(_logger, warning);
        }

        _warnings = current;
    }

    private void PollLoop()
    {
        var token = _stopping.Token;
        while (!token.WaitHandle.WaitOne(_options.InterfacePoll))
        {
            try
            {
                Reconcile(startup: false);
            }
            catch (Exception ex)
            {
                // A background loop catches, logs and goes on: the next pass may do better.
                CaptureLog.ReconcileFailed(_logger, ex);
            }
        }
    }

    private void RefreshStatistics()
    {
        lock (_gate)
        {
            foreach (var capture in _live.Values)
            {
                capture.RefreshStatistics();
            }
        }
    }

    private void StartReplays()
    {
        foreach (var iface in _interfaces.All.Where(i => i.Replay))
        {
            var file = iface.Discovered.Replay!;
            CaptureFileReader reader;
            try
            {
                reader = CaptureFileReader.Open(file);
            }
            catch (CaptureFileException ex)
            {
                throw new AgentStartupException(ex.Message, ex);
            }

            CaptureLog.Replaying(_logger, file, iface.Name);
            _interfaces.SetState(iface, InterfaceState.Capturing, "replay of " + file);
            _replays.Add(Task.Run(() => ReplayAsync(reader, iface, _stopping.Token)));
        }
    }

    private async Task ReplayAsync(CaptureFileReader reader, AgentInterface iface, CancellationToken cancellationToken)
    {
        using var owned = reader;
        iface.Counters.Up = true;
        long echoes = 0;
        try
        {
            while (reader.TryReadNext(out var echo))
            {
                echoes++;
                iface.Counters.AddCaptured();
                await _queue.WriteAsync(new CapturedObservation(echo.ToObservation(iface.Index), echo.Echo.WireLength, echo.Echo.Vlan), cancellationToken);
            }

            if (reader.FileTruncated || reader.Error is not null)
            {
                iface.Counters.Error = reader.Error;
                CaptureLog.ReplayCut(_logger, reader.Path, iface.Name, reader.Records, reader.Error);
            }

            CaptureLog.ReplayDone(_logger, reader.Path, iface.Name, reader.Records, echoes, reader.Malformed + reader.Truncated);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception ex)
        {
            iface.Counters.Error = ex.Message;
            CaptureLog.ReplayFailed(_logger, reader.Path, iface.Name, ex);
        }
        finally
        {
            iface.Counters.Up = false;
        }
    }

    private void StopAll()
    {
        lock (_gate)
        {
            foreach (var index in _live.Keys.ToList())
            {
                Close(_interfaces.All[index]);
            }
        }
    }
}
