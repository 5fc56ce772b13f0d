using HopCapture.Engine.Model;
using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Traffic;

internal static partial class TrafficLog
{
    [LoggerMessage(EventId = 1400, Level = LogLevel.Information, Message = "accounting traffic on {Iface} (snaplen {Snaplen}, {BucketMs} ms buckets, {RetentionS} s kept, {MemoryKb} KiB)")]
    public static partial void Accounting(ILogger logger, string iface, int snaplen, double bucketMs, double retentionS, long memoryKb);

    [LoggerMessage(EventId = 1401, Level = LogLevel.Warning, Message = "traffic accounting on {Iface}: option {Property} not applied: {Problem}")]
    public static partial void ConfigurationFailed(ILogger logger, string iface, string property, string problem);

    [LoggerMessage(EventId = 1402, Level = LogLevel.Warning, Message = "traffic accounting on {Iface} ({Direction}) stopped: {Error}")]
    public static partial void Stopped(ILogger logger, string iface, PacketDirection direction, string error);

    [LoggerMessage(EventId = 1403, Level = LogLevel.Error, Message = "traffic accounting on {Iface} ({Direction}) crashed")]
    public static partial void Crashed(ILogger logger, string iface, PacketDirection direction, Exception exception);

    [LoggerMessage(EventId = 1404, Level = LogLevel.Warning, Message = "{Error}; accounting of this interface tried again on the next poll")]
    public static partial void OpenFailed(ILogger logger, string error);

    [LoggerMessage(EventId = 1405, Level = LogLevel.Error, Message = "traffic accounting: following the interfaces failed; trying again on the next poll")]
    public static partial void FollowFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 1406, Level = LogLevel.Warning, Message = "traffic request {CommandId} failed")]
    public static partial void RequestFailed(ILogger logger, string commandId, Exception exception);
}
