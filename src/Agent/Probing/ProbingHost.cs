using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Probing;

/// <summary>Starts the <see cref="ProbingService"/> only when probing is enabled (the app point is listed then).</summary>
internal sealed class ProbingHost(IServiceProvider services) : IHostedService
{
    private ProbingService? _prober;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!services.GetRequiredService<Capture.AgentInterfaces>().All.Any(i => i.Role == Engine.Model.PointRole.App))
        {
            return Task.CompletedTask;
        }

        _prober = services.GetRequiredService<ProbingService>();
        return _prober.StartAsync(cancellationToken);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _prober?.StopAsync(cancellationToken) ?? Task.CompletedTask;
}
