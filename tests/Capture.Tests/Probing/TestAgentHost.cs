using HopCapture.Agent;
using HopCapture.Agent.Probing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace HopCapture.Tests.Probing;

/// <summary>
/// The real agent host (AddCaptureAgent: capture, uploader, prober) in this process, capturing a
/// veth the test owns (no addresses, so no echo traffic on it) so the only observations are the prober's own (role app).
/// Needs root: a raw ICMP socket and libpcap.
/// </summary>
public sealed class TestAgentHost : IAsyncDisposable
{
    private readonly IHost _host;
    private readonly string _dummy;
    private readonly string _state;

    private TestAgentHost(IHost host, string dummy, string state)
    {
        _host = host;
        _dummy = dummy;
        _state = state;
    }

    public ProbingService Prober => _host.Services.GetRequiredService<ProbingService>();

    /// <summary>Skips the test (Assert.Ignore) where raw sockets or `ip link` are unavailable.</summary>
    public static async Task<TestAgentHost> StartAsync(string node, string correlator)
    {
        if (!Environment.IsPrivilegedProcess)
        {
            Assert.Ignore("the prober needs root (raw ICMP socket)");
        }

        var dummy = $"hcp{Environment.ProcessId % 100000}{Random.Shared.Next(100)}";
        var add = await IpAsync($"link add {dummy} type veth peer name {dummy}p");
        if (add.ExitCode != 0)
        {
            Assert.Ignore($"cannot create a veth pair: {add.StdErr}");
        }

        await IpAsync($"link set {dummy} up");
        await IpAsync($"link set {dummy}p up");
        var state = Path.Combine(Path.GetTempPath(), "hopcapture-prober-" + Guid.NewGuid().ToString("N"));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Agent:Node"] = node,
            ["Agent:Correlator"] = correlator,
            ["Agent:Interfaces:0:Name"] = dummy,
            ["Agent:Interfaces:0:Role"] = "guest",
            ["Agent:BatchInterval"] = "00:00:00.050",
            ["Agent:StateDirectory"] = state,
        }).Build();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddCaptureAgent(configuration);
        var host = builder.Build();
        try
        {
            await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch
        {
            host.Dispose();
            await IpAsync($"link del {dummy}");
            throw;
        }

        return new TestAgentHost(host, dummy, state);
    }

    private static Task<ProcessResult> IpAsync(string arguments) =>
        ProcessRunner.RunAsync("ip", arguments.Split(' '), TimeSpan.FromSeconds(10), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
            _host.Dispose();
        }
        finally
        {
            await IpAsync($"link del {_dummy}");
            if (Directory.Exists(_state))
            {
                Directory.Delete(_state, recursive: true);
            }
        }
    }
}
