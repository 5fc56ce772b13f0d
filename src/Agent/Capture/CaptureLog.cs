using HopCapture.Engine.Model;
using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Capture;

internal static partial class CaptureLog
{
    [LoggerMessage(EventId = 1100, Level = LogLevel.Information, Message = "capturing on {Iface} ({Role}, point {Point}) with two kernel-filtered handles (in, out)")]
    public static partial void Capturing(ILogger logger, string iface, PointRole role, string point);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "capture on {Iface}: option {Property} not applied: {Problem}")]
    public static partial void ConfigurationFailed(ILogger logger, string iface, string property, string problem);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "capture on {Iface} ({Direction}) stopped: {Error}")]
    public static partial void CaptureFailed(ILogger logger, string iface, PacketDirection direction, string error);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "capture on {Iface} ({Direction}) crashed")]
    public static partial void CaptureCrashed(ILogger logger, string iface, PacketDirection direction, Exception exception);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "capture thread on {Iface} did not stop within 3 s")]
    public static partial void StopTimedOut(ILogger logger, string iface);

    [LoggerMessage(EventId = 1110, Level = LogLevel.Information, Message = "replaying {File} as {Iface}")]
    public static partial void Replaying(ILogger logger, string file, string iface);

    [LoggerMessage(EventId = 1111, Level = LogLevel.Information, Message = "replay of {File} as {Iface} done: {Records} records, {Echoes} echoes, {Malformed} malformed")]
    public static partial void ReplayDone(ILogger logger, string file, string iface, long records, long echoes, long malformed);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "replay of {File} as {Iface}: the file is cut off after {Records} records ({Error}); kept what came before")]
    public static partial void ReplayCut(ILogger logger, string file, string iface, long records, string? error);

    [LoggerMessage(EventId = 1113, Level = LogLevel.Error, Message = "replay of {File} as {Iface} failed")]
    public static partial void ReplayFailed(ILogger logger, string file, string iface, Exception exception);

    [LoggerMessage(EventId = 1120, Level = LogLevel.Information, Message = "interface {Iface} ({Role}, point {Point}) is not present on this node; waiting for it")]
    public static partial void Waiting(ILogger logger, string iface, PointRole role, string point);

    [LoggerMessage(EventId = 1121, Level = LogLevel.Warning, Message = "interface {Iface} vanished; capture stopped, waiting for it to return")]
    public static partial void Gone(ILogger logger, string iface);

    [LoggerMessage(EventId = 1122, Level = LogLevel.Information, Message = "interface {Iface} was re-created (ifindex {Old} -> {New}); reopening the capture")]
    public static partial void Recreated(ILogger logger, string iface, int old, int @new);

    [LoggerMessage(EventId = 1123, Level = LogLevel.Warning, Message = "{Error}; trying again in {Seconds} s")]
    public static partial void OpenFailed(ILogger logger, string error, double seconds);

    [LoggerMessage(EventId = 1124, Level = LogLevel.Warning, Message = "interface source: {Warning}")]
    public static partial void SourceWarning(ILogger logger, string warning);

    [LoggerMessage(EventId = 1125, Level = LogLevel.Error, Message = "interface reconciliation failed; trying again on the next poll")]
    public static partial void ReconcileFailed(ILogger logger, Exception exception);
}
