using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Incidents;
using HopCapture.Correlator.Ingest;
using HopCapture.Correlator.Metrics;
using HopCapture.Correlator.Probing;
using HopCapture.Correlator.Security;
using HopCapture.Correlator.Storage;
using HopCapture.Engine.Model;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Hosting;

public static class CorrelatorServiceCollectionExtensions
{
    /// <summary>
    /// Registers the correlator: options (section "Correlator", validated at start), ingest,
    /// engine host, SQLite store, query API and the Kestrel endpoint (HTTP/2 over TLS, cleartext
    /// only when Correlator:Plaintext asks for it on loopback), every call authorized per RPC.
    /// </summary>
    public static IServiceCollection AddCorrelator(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);

        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<CorrelatorOptions>()
            .Bind(configuration.GetSection(CorrelatorOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CorrelatorOptions>, CorrelatorOptionsValidator>());

        services.AddCorrelatorSecurity();
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<CorrelatorOptions>, IServiceProvider>((kestrel, correlator, provider) =>
        {
            // An unparsable value is reported by the validator; nothing to bind then.
            if (ListenEndpoint.TryParse(correlator.Value.Listen, out var endpoint, out _))
            {
                kestrel.Listen(endpoint, listen =>
                {
                    listen.Protocols = HttpProtocols.Http2;
                    if (!correlator.Value.Plaintext)
                    {
                        listen.UseHttps(https => provider.GetRequiredService<ServerTls>().Configure(https));
                    }
                });
            }

            kestrel.AddServerHeader = false;
        });

        services.AddGrpc(grpc =>
        {
            grpc.EnableDetailedErrors = false;
            grpc.Interceptors.Add<AccessInterceptor>();
        });
        services.AddOptions<Grpc.AspNetCore.Server.GrpcServiceOptions>().Configure<IOptions<CorrelatorOptions>>(
            (grpc, correlator) => grpc.MaxReceiveMessageSize = correlator.Value.MaxMessageBytes);
        services.TryAddSingleton<IngestRateLimits>();
        services.TryAddSingleton<IngestQueueBudget>();

        services.TryAddSingleton<InterfaceCatalog>();
        services.TryAddSingleton<CorrelatorChannels>();
        services.TryAddSingleton<IResultsStore>(StoreBackends.ResultsStore);
        services.TryAddSingleton(sp => new ProbeQueries(sp.GetRequiredService<IResultsStore>(), sp.GetRequiredService<TimeProvider>(), RawQueryProbes(sp)));
        services.TryAddSingleton<Query.ProbeExports>();
        services.TryAddSingleton(sp => new Loss.LossQueries(sp.GetRequiredService<IResultsStore>(), sp.GetRequiredService<TimeProvider>(), RawQueryProbes(sp)));
        services.TryAddSingleton<Inventory.VmInventory>();
        services.TryAddSingleton<AgentRegistry>();
        services.TryAddSingleton<StoredProbeBus>();
        services.TryAddSingleton<StoreHealth>();
        services.TryAddSingleton<StoreWriter>();
        services.TryAddSingleton<EngineHost>();
        services.TryAddSingleton<Journal.JournalCheckpoints>();
        services.TryAddSingleton<Journal.IngestJournal>();
        services.AddOptions<Causes.HostEvidenceOptions>().Bind(configuration.GetSection(Causes.HostEvidenceOptions.Section))
            .Validate(o => o.Retention >= TimeSpan.FromMinutes(1), $"{Causes.HostEvidenceOptions.Section}:Retention: must be at least 1 minute")
            .Validate(o => o.MaxRows >= 1000, $"{Causes.HostEvidenceOptions.Section}:MaxRows: must be at least 1000")
            .Validate(o => o.Slack >= TimeSpan.Zero && o.Slack <= TimeSpan.FromMinutes(1), $"{Causes.HostEvidenceOptions.Section}:Slack: must be 0 - 1 min")
            .ValidateOnStart();
        services.TryAddSingleton<LocalDatabase>();
        services.TryAddSingleton<Causes.HostEvidenceStore>();
        services.TryAddSingleton<Causes.HostEvidenceWriter>();
        services.TryAddSingleton<Causes.FreezeCauses>();

        // Start order store → engine → journal (whose replay feeds the running engine before the
        // port opens); the host stops in reverse (server, journal, engine, store), so a shutdown
        // journals and drains ingest into the engine, flushes it, and stores every result.
        services.AddHostedService(sp => sp.GetRequiredService<StoreWriter>());
        services.AddHostedService(sp => sp.GetRequiredService<EngineHost>());
        services.AddHostedService(sp => sp.GetRequiredService<Journal.IngestJournal>());
        services.AddHostedService(sp => sp.GetRequiredService<Causes.HostEvidenceWriter>());

        // After the store (their tables live in it) and the engine: issue 5's features.
        services.AddAlerting(configuration);
        services.AddCorrelatorMetrics(configuration);
        services.AddProbing(configuration);
        services.AddIncidents(configuration);
        return services;
    }

    private static long RawQueryProbes(IServiceProvider services) =>
        services.GetRequiredService<IOptions<CorrelatorOptions>>().Value.Retention.RawQueryProbes;

    /// <summary>Maps the correlator's gRPC services.</summary>
    public static IEndpointRouteBuilder MapCorrelator(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapGrpcService<IngestService>();
        endpoints.MapGrpcService<Query.QueryService>();
        endpoints.MapCorrelatorMetrics();
        return endpoints;
    }
}
