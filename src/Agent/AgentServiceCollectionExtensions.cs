using HopCapture.Agent.Capture;
using HopCapture.Agent.Clock;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Discovery;
using HopCapture.Agent.Evidence;
using HopCapture.Agent.Probing;
using HopCapture.Agent.Spool;
using HopCapture.Agent.Traffic;
using HopCapture.Agent.Upload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
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
                var interfaces = configuration.GetSection(AgentOptions.Section + ":" + nameof(AgentOptions.Interfaces));
                options.InterfacesValue = interfaces.Value;
                options.AutoInterfaces = options.Interfaces.Count == 0;
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
        services.AddOptions<ProbeOptions>().Bind(configuration.GetSection(ProbeOptions.Section))
            .Validate(o => o.MaxRate is >= 1 and <= 100_000, $"{ProbeOptions.Section}:MaxRate: must be 1-100000 probes per second")
            .Validate(o => o.MinInterval > TimeSpan.Zero, $"{ProbeOptions.Section}:MinInterval: must be positive")
            .ValidateOnStart();
        services.AddOptions<HostEvidenceOptions>().Bind(configuration.GetSection(HostEvidenceOptions.Section))
            .Validate(o => o.Interval >= TimeSpan.FromMilliseconds(100) && o.Interval <= TimeSpan.FromMinutes(1), $"{HostEvidenceOptions.Section}:Interval: must be 100 ms - 1 min")
            .Validate(o => o.Retention >= o.Interval && o.Retention <= TimeSpan.FromHours(1), $"{HostEvidenceOptions.Section}:Retention: must be at least Interval and at most 1 h")
            .Validate(o => o.MaxEvents is >= 16 and <= 1_000_000, $"{HostEvidenceOptions.Section}:MaxEvents: must be 16-1000000")
            .Validate(o => o.SettingsEvery >= o.Interval && o.SettingsEvery <= TimeSpan.FromHours(1), $"{HostEvidenceOptions.Section}:SettingsEvery: must be at least Interval and at most 1 h")
            .ValidateOnStart();
        services.TryAddSingleton(sp =>
        {
            var evidence = sp.GetRequiredService<IOptions<HostEvidenceOptions>>().Value;
            return new HostEvidenceBuffer(evidence.MaxEvents, evidence.Retention);
        });
        // The desired interface list, followed at runtime by the capture service: the configured
        // list, or discovery (Agent:Interfaces auto). A test or another host may register its own first.
        services.TryAddSingleton<IInterfaceSource>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            return options.AutoInterfaces
                ? new HostDiscovery(options.DiscoveryRoot, options.Discovery)
                : new StaticInterfaceSource(options.Interfaces);
        });

        // The interfaces at start: the configured list, or what discovery finds now. Interfaces
        // that appear or vanish later are the capture service's to follow through IInterfaceSource.
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            if (!options.AutoInterfaces)
            {
                return new AgentInterfaces(options.Interfaces, ProbingEnabled(sp));
            }

            var found = sp.GetRequiredService<IInterfaceSource>().Current();
            var logger = sp.GetRequiredService<ILogger<HostDiscovery>>();
            DiscoveryLog.Discovered(logger, found.Kind, found.Interfaces.Count);
            foreach (var warning in found.Warnings)
            {
                DiscoveryLog.Warning(logger, warning);
            }

            return new AgentInterfaces(found.Interfaces.Select(ToOptions), ProbingEnabled(sp));
        });
        // Opened when the uploader is first resolved (Program does so before the host runs), so a
        // state directory or spool that cannot be used is one line and exit 3, not a stack trace.
        services.TryAddSingleton(sp => AgentStateDirectory.Open(
            sp.GetRequiredService<IOptions<AgentOptions>>().Value.StateDirectory, sp.GetRequiredService<ILogger<AgentStateDirectory>>()));
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<AgentOptions>>().Value;
            sp.GetRequiredService<AgentStateDirectory>(); // the state directory's lock first
            return SpoolBatchSource.Open(options.SpoolDirectory, options.Spool.MaxBytes, sp.GetRequiredService<ILogger<SpoolBatchSource>>());
        });
        services.TryAddSingleton(sp => new IngestUploader(
            sp.GetRequiredService<IOptions<AgentOptions>>(), sp.GetRequiredService<ObservationQueue>(), sp.GetRequiredService<AgentInterfaces>(),
            sp.GetRequiredService<ClockReader>(), sp.GetRequiredService<AgentStateDirectory>(), sp.GetRequiredService<SpoolBatchSource>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<IngestUploader>>(), sp.GetService<IHostApplicationLifetime>())
        {
            CanProbe = ProbingEnabled(sp),
            Evidence = sp.GetRequiredService<HostEvidenceBuffer>(),
        });
        services.AddOptions<TrafficOptions>().Bind(configuration.GetSection(TrafficOptions.Section))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TrafficOptions>, TrafficOptionsValidator>());
        services.TryAddSingleton<INetworkLinks>(KernelLinks.Instance);
        services.TryAddSingleton<CaptureService>();
        services.TryAddSingleton<ProbingService>();

        // Hosted services stop in reverse order: capture and prober stop first, then the uploader flushes.
        services.AddHostedService(sp => sp.GetRequiredService<IngestUploader>());
        services.AddHostedService<ProbingHost>();
        services.AddHostedService(sp => sp.GetRequiredService<CaptureService>());
        services.AddHostedService<HostEvidenceService>();
        services.TryAddSingleton<TrafficAccounting>();
        services.AddHostedService(sp => sp.GetRequiredService<TrafficAccounting>());

        return services;
    }

    private static InterfaceOptions ToOptions(DiscoveredInterface found) => new()
    {
        Name = found.Name,
        Role = found.Role.ToString().ToLowerInvariant(),
        Point = found.Point,
        Replay = found.Replay,
    };

    /// <summary>Probing runs on live agents when enabled; a replay-only agent exits once its files are acked.</summary>
    private static bool ProbingEnabled(IServiceProvider services) =>
        services.GetRequiredService<IOptions<ProbeOptions>>().Value.Enabled && !services.GetRequiredService<IOptions<AgentOptions>>().Value.ReplayOnly;
}
