using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;
using HopCapture.Packets.Files;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SharpPcap.LibPcap;

namespace HopCapture.Agent.Capture;

/// <summary>
/// Starts live capture (two handles per interface) or file replay for every configured interface.
/// Everything is opened in <see cref="StartAsync"/> so a bad interface or missing permission fails
/// start-up with one line instead of surfacing later.
/// </summary>
public sealed class CaptureService : IHostedService, IDisposable
{
    private readonly AgentOptions _options;
    private readonly AgentInterfaces _interfaces;
    private readonly ObservationQueue _queue;
    private readonly ILogger<CaptureService> _logger;
    private readonly List<LiveCaptureHandle> _handles = [];
    private readonly List<Task> _replays = [];
    private readonly CancellationTokenSource _stopping = new();
    private int _disposed;

    public CaptureService(IOptions<AgentOptions> options, AgentInterfaces interfaces, ObservationQueue queue, ILogger<CaptureService> logger)
    {
        _options = options.Value;
        _interfaces = interfaces;
        _queue = queue;
        _logger = logger;
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            StartLive();
            StartReplays();
        }
        catch
        {
            StopHandles();
            throw;
        }

        if (_handles.Count == 0)
        {
            // Replay only: the queue completes when the files are read, which lets the uploader
            // finish once everything is acked.
            _ = Task.WhenAll(_replays).ContinueWith(_ => _queue.Complete(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        StopHandles();
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

        StopHandles();
        foreach (var handle in _handles)
        {
            handle.Dispose();
        }

        _stopping.Dispose();
    }

    private void StartLive()
    {
        // The app point is the prober's socket, not an interface to capture on.
        var live = _interfaces.All.Where(i => !i.Replay && i.Role != PointRole.App).ToList();
        if (live.Count == 0)
        {
            return;
        }

        var available = PcapInterface.GetAllPcapInterfaces();
        foreach (var iface in live)
        {
            var pcapInterface = available.FirstOrDefault(p => p.Name == iface.Name)
                ?? throw new AgentStartupException(
                    $"interface '{iface.Name}' not found on this node (available: {string.Join(", ", available.Select(p => p.Name).Where(n => n != "any" && !n.Contains("nflog", StringComparison.Ordinal) && !n.Contains("nfqueue", StringComparison.Ordinal) && !n.Contains("dbus", StringComparison.Ordinal) && !n.Contains("bluetooth", StringComparison.Ordinal)))})");
            var inbound = new LiveCaptureHandle(pcapInterface, iface, PacketDirection.In, _queue, _logger);
            _handles.Add(inbound);
            var outbound = new LiveCaptureHandle(pcapInterface, iface, PacketDirection.Out, _queue, _logger);
            _handles.Add(outbound);
            inbound.Open(_options);
            outbound.Open(_options);
            _interfaces.AddRefresher(() =>
            {
                inbound.RefreshStatistics();
                outbound.RefreshStatistics();
                iface.Counters.SetKernelCounters(inbound.KernelDropped + outbound.KernelDropped, inbound.InterfaceDropped + outbound.InterfaceDropped);
            });
        }

        foreach (var handle in _handles)
        {
            handle.Start();
        }

        foreach (var iface in live)
        {
            CaptureLog.Capturing(_logger, iface.Name, iface.Role, iface.Point);
        }
    }

    private void StartReplays()
    {
        foreach (var iface in _interfaces.All.Where(i => i.Replay))
        {
            var file = _options.Interfaces[iface.Index].Replay!;
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

    private void StopHandles()
    {
        foreach (var handle in _handles)
        {
            handle.Stop();
        }
    }
}
