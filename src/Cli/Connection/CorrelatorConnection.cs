using Grpc.Core;
using Grpc.Net.Client;
using HopCapture.IngestClient;
using HopCapture.Protos;

namespace HopCapture.Cli.Connection;

/// <summary>
/// One gRPC channel to the correlator's query API over TLS (or cleartext HTTP/2 to loopback),
/// built by the one channel factory (<see cref="IngestChannels"/>), with the deadline every unary
/// call must carry so a wedged correlator never hangs the CLI.
/// </summary>
public sealed class CorrelatorConnection : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly TimeProvider _time;

    public CorrelatorConnection(Uri address, CorrelatorCredentials credentials, TimeSpan callTimeout, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(address);
        _time = time;
        CallTimeout = callTimeout;
        Address = address;
        // Fail a black-holed address well before the call deadline, with a clearer reason; watch
        // can sit idle for minutes, so pings (while a call is active) notice a vanished correlator.
        _channel = IngestChannels.Create(
            address,
            credentials,
            callTimeout < TimeSpan.FromSeconds(5) ? callTimeout : TimeSpan.FromSeconds(5),
            HttpKeepAlivePingPolicy.WithActiveRequests,
            MaxAnswerBytes);
        Client = new Query.QueryClient(_channel);
    }

    /// <summary>
    /// The largest answer the CLI takes: ListProbes' 10,000 probes of six points with VM labels
    /// are ~5 MB, over gRPC's default 4 MiB (exports come in ~1 MiB chunks).
    /// </summary>
    public const int MaxAnswerBytes = 64 * 1024 * 1024;

    public Uri Address { get; }

    public TimeSpan CallTimeout { get; }

    public Query.QueryClient Client { get; }

    /// <summary>Call options for one unary call: the deadline plus the caller's cancellation.</summary>
    public CallOptions Unary(CancellationToken cancellationToken) =>
        new(deadline: _time.GetUtcNow().UtcDateTime + CallTimeout, cancellationToken: cancellationToken);

    public void Dispose() => _channel.Dispose();
}
