using HopCapture.Agent.Capture;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Evidence;

/// <summary>
/// Samples the host evidence of the capture interfaces every <see cref="HostEvidenceOptions.Interval"/>
/// into the <see cref="HostEvidenceBuffer"/> the uploader's heartbeats drain. A failed sample is
/// logged and the next one tried; a source that cannot open (no /dev/kmsg in a container) is
/// logged once and left out.
/// </summary>
public sealed class HostEvidenceService(
    IOptions<HostEvidenceOptions> options,
    AgentInterfaces interfaces,
    HostEvidenceBuffer buffer,
    TimeProvider time,
    ILogger<HostEvidenceService> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value;
        if (!settings.Enabled)
        {
            return;
        }

        using var qdisc = QdiscReader.TryOpen(out var qdiscProblem);
        if (qdiscProblem is not null)
        {
            HostEvidenceLog.SourceUnavailable(logger, "qdisc statistics", qdiscProblem);
        }

        using var ethtool = EthtoolReader.TryOpen(settings.SettingsEvery, logger, out var ethtoolProblem);
        if (ethtoolProblem is not null)
        {
            HostEvidenceLog.SourceUnavailable(logger, "NIC driver statistics and settings (SIOCETHTOOL)", ethtoolProblem);
        }

        string? kernelProblem = "turned off (Agent:HostEvidence:KernelLog)";
        using var kernel = settings.KernelLog ? KernelLogReader.TryOpen("/dev/kmsg", out kernelProblem) : null;
        if (kernelProblem is not null)
        {
            HostEvidenceLog.SourceUnavailable(logger, "kernel log", kernelProblem);
        }

        HostEvidenceLog.Started(logger, settings.Interval.TotalMilliseconds, kernel is null ? "off" : "on");
        var sampler = new EvidenceSampler("/", qdisc, kernel, ethtool);
        using var timer = new PeriodicTimer(settings.Interval, time);
        try
        {
            do
            {
                Sample(sampler);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private void Sample(EvidenceSampler sampler)
    {
        try
        {
            var nowNs = time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000;
            var watched = interfaces.All.Where(i => !i.Replay).Select(i => new WatchedInterface(i.Name, i.Point));
            buffer.Add(sampler.Sample(watched, nowNs), nowNs);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            HostEvidenceLog.SampleFailed(logger, ex);
        }
    }
}
