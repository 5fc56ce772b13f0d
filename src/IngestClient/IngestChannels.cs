using Grpc.Net.Client;

namespace HopCapture.IngestClient;

/// <summary>The gRPC channel an ingest client uses: a quick connect timeout and keep-alive pings, so a vanished correlator is noticed.</summary>
public static class IngestChannels
{
    public static GrpcChannel Create(string address) =>
        GrpcChannel.ForAddress(address, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingDelay = TimeSpan.FromSeconds(20),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(10),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                EnableMultipleHttp2Connections = true,
            },
            DisposeHttpClient = true,
        });
}
