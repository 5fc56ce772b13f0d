using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Discovery;

internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Agent:Interfaces auto: {Kind} node, {Count} interface(s) to capture at start")]
    public static partial void Discovered(ILogger logger, string kind, int count);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Warning, Message = "discovery: {Warning}")]
    public static partial void Warning(ILogger logger, string warning);
}
