using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Probing;

public static class ProbingServiceCollectionExtensions
{
    /// <summary>Central probe plans (section "Correlator:Probing", reloadable), the control hub and on-demand traces.</summary>
    public static IServiceCollection AddProbing(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<ProbingOptions>().Bind(configuration.GetSection(ProbingOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ProbingOptions>, ProbingOptionsValidator>());
        services.TryAddSingleton<ControlHub>();
        services.TryAddSingleton<PlanPusher>();
        services.TryAddSingleton<TraceGuard>();
        services.TryAddSingleton<TraceCoordinator>();
        services.AddHostedService(sp => sp.GetRequiredService<PlanPusher>());
        return services;
    }
}
