using HopCapture.Agent.Capture;
using HopCapture.Agent.Clock;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Upload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent;

public static class AgentServiceCollectionExtensions
{
    /// <summary>
    /// Registers the capture agent: options from the "Agent" section (with <paramref name="commandLine"/>
    /// applied on top and validated at start), capture, clock and uploader.
    /// </summary>
    public static IServiceCollection AddCaptureAgent(this IServiceCollection services, IConfiguration configuration, AgentCommandLine? commandLine = null)
    {
        services.AddOptions<AgentOptions>()
            .Bind(configuration.GetSection(AgentOptions.Section))
            .PostConfigure(options =>
            {
                commandLine?.ApplyTo(options);
                if (string.IsNullOrWhiteSpace(options.Node))
                {
                    options.Node = Environment.MachineName;
                }
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<AgentOptions>, AgentOptionsValidator>());
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<ClockReader>();
        services.TryAddSingleton<ObservationQueue>();
        services.TryAddSingleton(sp => new AgentInterfaces(sp.GetRequiredService<IOptions<AgentOptions>>()));
        services.TryAddSingleton<IngestUploader>();
        services.TryAddSingleton<CaptureService>();

        // Hosted services stop in reverse order: capture stops first, then the uploader flushes.
        services.AddHostedService(sp => sp.GetRequiredService<IngestUploader>());
        services.AddHostedService(sp => sp.GetRequiredService<CaptureService>());
        return services;
    }
}
