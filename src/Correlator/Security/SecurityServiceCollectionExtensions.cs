using HopCapture.Correlator.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HopCapture.Correlator.Security;

public static class SecurityServiceCollectionExtensions
{
    /// <summary>TLS files, caller authentication and per-RPC authorization (the interceptor is added to gRPC by the caller).</summary>
    public static IServiceCollection AddCorrelatorSecurity(this IServiceCollection services)
    {
        services.TryAddSingleton<ServerTls>();
        services.TryAddSingleton<CallerAuthenticator>();
        services.TryAddSingleton<AccessPolicy>();
        services.TryAddSingleton<AccessInterceptor>();
        services.AddHostedService<AccessModeLog>();
        return services;
    }
}
