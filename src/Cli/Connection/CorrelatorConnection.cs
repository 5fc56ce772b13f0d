using Grpc.Core;
using Grpc.Net.Client;
using HopCapture.Protos;

namespace HopCapture.Cli.Connection;

/// <summary>
/// One gRPC channel to the correlator's query API over cleartext HTTP/2 (h2c) or TLS, with
/// the deadline every unary call must carry so a wedged correlator never hangs the CLI.
/// </summary>
public sealed class CorrelatorConnection : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly TimeProvider _time;

    public CorrelatorConnection(Uri address, TimeSpan callTimeout, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(address);
        _time = time;
        CallTimeout = callTimeout;
        Address = address;
        var handler = new SocketsHttpHandler
        {
            // Fail a black-holed address well before the call deadline, with a clearer reason.
            ConnectTimeout = callTimeout < TimeSpan.FromSeconds(5) ? callTimeout : TimeSpan.FromSeconds(5),
            // watch can sit idle for minutes; pings notice a correlator that vanished silently.
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
            EnableMultipleHttp2Connections = true,
        };
        _channel = GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true });
        Client = new Query.QueryClient(_channel);
    }

    public Uri Address { get; }

    public TimeSpan CallTimeout { get; }

    public Query.QueryClient Client { get; }

    /// <summary>Call options for one unary call: the deadline plus the caller's cancellation.</summary>
    public CallOptions Unary(CancellationToken cancellationToken) =>
        new(deadline: _time.GetUtcNow().UtcDateTime + CallTimeout, cancellationToken: cancellationToken);

    public void Dispose() => _channel.Dispose();
}
