using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Evidence;

internal static partial class HostEvidenceLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "host evidence: sampling every {IntervalMs} ms, kernel log {KernelLog}")]
    public static partial void Started(ILogger logger, double intervalMs, string kernelLog);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "host evidence: a sample failed; the next one is tried")]
    public static partial void SampleFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Warning, Message = "host evidence: {Source} unavailable ({Reason}); sampling goes on without it")]
    public static partial void SourceUnavailable(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 1503, Level = LogLevel.Debug, Message = "host evidence: {What} of {Device} not readable (errno {Errno}); left out for that device")]
    public static partial void EthtoolUnreadable(ILogger logger, string what, string device, int errno);
}
