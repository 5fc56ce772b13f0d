using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Probing;
using HopCapture.Tests.Correlator;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Alerts;

public sealed class ExampleConfigTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task ExampleConfig_StartsTheCorrelator_WithItsRulesAndPlans(CancellationToken cancellationToken)
    {
        var example = Path.Combine(RepoPaths.Root, "deploy", "correlator.example.json");
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?>
            {
                ["Correlator:Metrics:Listen"] = "127.0.0.1:0",

                // The example's TLS files are not on this machine; the test runs it in plaintext on loopback.
                ["Correlator:Tls:Certificate"] = "",
                ["Correlator:Tls:Key"] = "",
                ["Correlator:Tls:ClientCa"] = "",
            },
            extraArgs: ["--config", example],
            cancellationToken: cancellationToken);

        var alerts = correlator.Services.GetRequiredService<IOptionsMonitor<AlertOptions>>().CurrentValue;
        var probing = correlator.Services.GetRequiredService<IOptionsMonitor<ProbingOptions>>().CurrentValue;
        Assert.That(alerts.Rules.Select(r => r.Name), Is.EqualTo(new[] { "fabric-slow", "vm-freeze", "nic-loss" }));
        Assert.That(alerts.Webhooks.Single().Name, Is.EqualTo("alertmanager"));
        Assert.That(probing.Plans, Has.Count.EqualTo(3));
        Assert.That(alerts.AgentDown.After, Is.EqualTo(TimeSpan.FromMinutes(1)));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task BadRule_FailsStartWithOneLineNamingTheKey(CancellationToken cancellationToken)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await HopCapture.Correlator.Hosting.CorrelatorApp.RunAsync(
            ["--listen", "127.0.0.1:0", "--Correlator:Plaintext=true", "--db", Path.Combine(Path.GetTempPath(), $"hc-badrule-{Guid.NewGuid():N}.db"),
             "--Correlator:Alerts:Rules:0:Name=x", "--Correlator:Alerts:Rules:0:Statistic=p95"],
            stdout, stderr).WaitAsync(cancellationToken);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.ToString().Trim(), Is.EqualTo("correlator: Correlator:Alerts:Rules:0:Statistic: 'p95' is not one of p50, p99, max, loss, freezes"));
    }
}
