using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Upload;

internal static partial class UploadLog
{
    [LoggerMessage(EventId = 1200, Level = LogLevel.Information, Message = "connected to correlator {Url} (version {Version}, agent id {AgentId}); resuming after batch {ResumeAfter}, {Buffered} observations buffered")]
    public static partial void Connected(ILogger logger, string url, string version, string agentId, ulong resumeAfter, long buffered);

    [LoggerMessage(EventId = 1201, Level = LogLevel.Warning, Message = "correlator {Url} unreachable ({Reason}); retrying in {DelaySeconds}s, {Buffered} observations buffered")]
    public static partial void Unreachable(ILogger logger, string url, string reason, double delaySeconds, long buffered);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Debug, Message = "correlator {Url} still unreachable ({Reason}); retrying in {DelaySeconds}s, {Buffered} observations buffered")]
    public static partial void StillUnreachable(ILogger logger, string url, string reason, double delaySeconds, long buffered);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Warning, Message = "correlator rejected {Rejected} observations of batch {Seq}: {Reason}")]
    public static partial void Rejected(ILogger logger, uint rejected, ulong seq, string reason);

    [LoggerMessage(EventId = 1204, Level = LogLevel.Information, Message = "upload stopped: {Buffered} observations were not acked before the flush deadline; they stay in the spool for the next start")]
    public static partial void FlushIncomplete(ILogger logger, long buffered);

    [LoggerMessage(EventId = 1205, Level = LogLevel.Information, Message = "all replayed observations are acked; stopping")]
    public static partial void ReplayAcked(ILogger logger);

    [LoggerMessage(EventId = 1206, Level = LogLevel.Error, Message = "batching loop failed; continuing")]
    public static partial void BatchingFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1207, Level = LogLevel.Information, Message = "connection to correlator {Url} ended ({Reason}); reconnecting")]
    public static partial void SessionEnded(ILogger logger, string url, string reason);

    [LoggerMessage(EventId = 1208, Level = LogLevel.Error, Message = "{Message}; stopping")]
    public static partial void Stopped(ILogger logger, string message);
}
