using HopCapture.Correlator.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Prometheus;

namespace HopCapture.Correlator.Metrics;

public static class MetricsServiceCollectionExtensions
{
    // Set on connections accepted by the metrics listener: /metrics answers only there, never on
    // the gRPC port (which would otherwise serve it over h2c to anyone who can reach ingest).
    private const string MetricsConnection = "hopcapture.metrics-listener";

    /// <summary>Prometheus metrics and, when Correlator:Metrics:Listen is set, an HTTP/1.1 listener for /metrics.</summary>
    public static IServiceCollection AddCorrelatorMetrics(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<MetricsOptions>().Bind(configuration.GetSection(MetricsOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>());
        services.TryAddSingleton<CorrelatorMetrics>();
        services.AddHostedService(sp => sp.GetRequiredService<CorrelatorMetrics>());
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<MetricsOptions>>((kestrel, metrics) =>
        {
            // Added after the gRPC endpoint, so the gRPC address stays the first one the server reports.
            if (ListenEndpoint.TryParse(metrics.Value.Listen, out var endpoint, out _))
            {
                kestrel.Listen(endpoint, listen =>
                {
                    listen.Protocols = HttpProtocols.Http1;
                    listen.Use(next => connection =>
                    {
                        connection.Items[MetricsConnection] = true;
                        return next(connection);
                    });
                });
            }
        });
        return services;
    }

    /// <summary>/metrics, answered only on connections of the metrics listener (404 elsewhere, and when it is off).</summary>
    public static IEndpointRouteBuilder MapCorrelatorMetrics(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var registry = endpoints.ServiceProvider.GetRequiredService<CorrelatorMetrics>().Registry;
        endpoints.MapGet("/metrics", async context =>
        {
            var items = context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionItemsFeature>()?.Items;
            if (items is null || !items.ContainsKey(MetricsConnection))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            await registry.CollectAndExportAsTextAsync(context.Response.Body, context.RequestAborted);
        });
        return endpoints;
    }
}
