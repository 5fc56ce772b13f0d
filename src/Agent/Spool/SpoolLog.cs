using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Spool;

internal static partial class SpoolLog
{
    [LoggerMessage(EventId = 1300, Level = LogLevel.Information, Message = "agent identity {InstanceId} kept from {File}; batch numbering continues")]
    public static partial void IdentityKept(ILogger logger, string instanceId, string file);

    [LoggerMessage(EventId = 1301, Level = LogLevel.Information, Message = "agent identity {InstanceId} created in {File}")]
    public static partial void IdentityCreated(ILogger logger, string instanceId, string file);

    [LoggerMessage(EventId = 1302, Level = LogLevel.Warning, Message = "agent identity file {File} holds no id ('{Text}'); a new identity replaces it and the correlator numbers its batches afresh")]
    public static partial void IdentityCorrupt(ILogger logger, string file, string text);

    [LoggerMessage(EventId = 1303, Level = LogLevel.Information, Message = "spool {Directory}: {Recovery}; {Pending} batches ({Observations} observations) to send, next batch {Next}, {Bytes} of {MaxBytes} bytes")]
    public static partial void Opened(ILogger logger, string directory, string recovery, long pending, long observations, ulong next, long bytes, long maxBytes);

    [LoggerMessage(EventId = 1304, Level = LogLevel.Warning, Message = "spool full ({MaxBytes} bytes): dropped the oldest {Batches} batches ({Observations} observations) unsent")]
    public static partial void Dropped(ILogger logger, long maxBytes, long batches, long observations);

    [LoggerMessage(EventId = 1305, Level = LogLevel.Warning, Message = "the correlator already holds batches through {ResumeAfter}, at or above this spool's next batch {Next} (spool lost or replaced?): numbering continues at {Continue}, {Skipped} unsent batches skipped")]
    public static partial void SkippedAhead(ILogger logger, ulong resumeAfter, ulong next, ulong @continue, long skipped);

    [LoggerMessage(EventId = 1306, Level = LogLevel.Error, Message = "could not write batch of {Observations} observations to the spool {Directory}; dropped")]
    public static partial void WriteFailed(ILogger logger, int observations, string directory, Exception exception);

    [LoggerMessage(EventId = 1307, Level = LogLevel.Error, Message = "spool record {Index} in {Directory} is not a batch ({Reason}); skipped")]
    public static partial void Unreadable(ILogger logger, ulong index, string directory, string reason);
}
