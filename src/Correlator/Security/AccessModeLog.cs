using HopCapture.Correlator.Hosting;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Security;

/// <summary>Says at start how callers are admitted, and warns loudly when anyone on the host may connect.</summary>
internal sealed partial class AccessModeLog(IOptions<CorrelatorOptions> options, AccessPolicy policy, ServerTls tls, ILogger<AccessModeLog> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var tokens = options.Value.Access.Tokens.Count;
        if (tls.Enabled)
        {
            Log.Tls(logger, tls.ClientCa.Count, tokens);
        }
        else if (policy.OpenDevMode)
        {
            Log.Open(logger, options.Value.Listen);
        }
        else
        {
            Log.PlaintextWithTokens(logger, options.Value.Listen, tokens);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1110, Level = LogLevel.Information,
            Message = "TLS on: agents need a node certificate from one of {Cas} client CA(s); the CLI a certificate or one of {Tokens} token(s)")]
        public static partial void Tls(ILogger logger, int cas, int tokens);

        [LoggerMessage(EventId = 1111, Level = LogLevel.Warning,
            Message = "Plaintext on {Listen} with no tokens configured: anyone on this host may ingest, query and start traces (Correlator:Plaintext is for tests and development)")]
        public static partial void Open(ILogger logger, string listen);

        [LoggerMessage(EventId = 1112, Level = LogLevel.Warning,
            Message = "Plaintext on {Listen}: agents on this host connect without a certificate; the CLI needs one of {Tokens} token(s)")]
        public static partial void PlaintextWithTokens(ILogger logger, string listen, int tokens);
    }
}
