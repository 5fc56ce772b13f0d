using HopCapture.Correlator.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace HopCapture.Correlator.Metrics;

public static class MetricsServiceCollectionExtensions
{
    /// <summary>Prometheus metrics and, when Correlator:Metrics:Listen is set, an HTTP/1.1 listener for /metrics.</summary>
    public static IServiceCollection AddCorrelatorMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.SectionName))
            .Validate(o => string.IsNullOrWhiteSpace(o.Listen) || ListenEndpoint.TryParse(o.Listen, out _, out _),
                $"{MetricsOptions.SectionName}:Listen: not ADDR:PORT (for example 127.0.0.1:9400)")
            .ValidateOnStart();
        services.TryAddSingleton<CorrelatorMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<CorrelatorMetrics>());
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<MetricsOptions>>((kestrel, metrics) =>
        {
            // Added after the gRPC endpoint, so the gRPC address stays the first one the server reports.
            if (ListenEndpoint.TryParse(metrics.Value.Listen, out var endpoint, out _))
            {
                kestrel.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http1);
            }
        });
        return services;
    }

    public static IEndpointRouteBuilder MapCorrelatorMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapMetrics("/metrics", endpoints.ServiceProvider.GetRequiredService<CorrelatorMetrics>().Registry);
        return endpoints;
    }
}
