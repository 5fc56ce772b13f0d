using Grpc.Core;
using Grpc.Net.Client;

namespace HopCapture.IngestClient;

/// <summary>
/// What a client presents to the correlator: TLS (CA bundle, client certificate) for https://
/// addresses, and an optional bearer token sent as <c>authorization: Bearer …</c> on every call.
/// </summary>
public sealed class CorrelatorCredentials
{
    public static readonly CorrelatorCredentials None = new();

    public ClientTls? Tls { get; init; }

    public string? Token { get; init; }

    /// <summary>What <paramref name="tls"/> and <paramref name="token"/> give for <paramref name="address"/>: TLS files only for https://.</summary>
    /// <exception cref="HopCapture.Security.PemFileException">A TLS file is missing, unreadable or not PEM.</exception>
    public static CorrelatorCredentials For(Uri address, ClientTlsOptions tls, TlsSettingNames names, string? token = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        return new CorrelatorCredentials
        {
            Tls = address.Scheme == Uri.UriSchemeHttps ? new ClientTls(tls, names, time) : null,
            Token = token,
        };
    }
}

/// <summary>
/// Builds every gRPC channel to the correlator — the agent's ingest stream, <c>capture analyze
/// --load</c> and the CLI's queries — so TLS, credentials and keep-alive are decided in one place:
/// a quick connect timeout and keep-alive pings, so a vanished correlator is noticed.
/// </summary>
public static class IngestChannels
{
    /// <summary>An ingest channel: pings even when idle, since an agent's stream is always open.</summary>
    public static GrpcChannel Create(string address, CorrelatorCredentials? credentials = null) =>
        Create(new Uri(address), credentials ?? CorrelatorCredentials.None, TimeSpan.FromSeconds(5), HttpKeepAlivePingPolicy.Always);

    /// <param name="address">http:// (loopback, checked by the caller's configuration) or https://.</param>
    /// <param name="credentials">TLS files and token.</param>
    /// <param name="connectTimeout">How long a connection attempt may take.</param>
    /// <param name="pingPolicy">When keep-alive pings are sent.</param>
    /// <param name="maxReceiveMessageBytes">The largest message accepted; null: gRPC's 4 MiB.</param>
    public static GrpcChannel Create(
        Uri address, CorrelatorCredentials credentials, TimeSpan connectTimeout, HttpKeepAlivePingPolicy pingPolicy, int? maxReceiveMessageBytes = null)
    {
        ArgumentNullException.ThrowIfNull(address);
        ArgumentNullException.ThrowIfNull(credentials);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = connectTimeout,
            KeepAlivePingDelay = TimeSpan.FromSeconds(20),
            KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
            KeepAlivePingPolicy = pingPolicy,
            EnableMultipleHttp2Connections = true,
        };
        var secure = address.Scheme == Uri.UriSchemeHttps;
        if (secure && credentials.Tls is { } tls)
        {
            handler.SslOptions = tls.SslOptions();
        }

        var options = new GrpcChannelOptions { HttpHandler = handler, DisposeHttpClient = true };
        if (maxReceiveMessageBytes is { } max)
        {
            options.MaxReceiveMessageSize = max;
        }

        if (credentials.Token is { Length: > 0 } token)
        {
            var header = "Bearer " + token;
            var call = CallCredentials.FromInterceptor((_, metadata) =>
            {
                metadata.Add("authorization", header);
                return Task.CompletedTask;
            });
            options.Credentials = ChannelCredentials.Create(secure ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, call);

            // Plaintext reaches loopback only (the agent's and the CLI's address checks), where a
            // token crosses no network.
            options.UnsafeUseInsecureChannelCallCredentials = !secure;
        }

        return GrpcChannel.ForAddress(address, options);
    }
}
