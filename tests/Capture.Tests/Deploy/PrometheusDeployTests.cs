using System.Text.Json;
using System.Text.RegularExpressions;
using HopCapture.Correlator.Storage;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Deploy;

/// <summary>
/// What deploy/prometheus and deploy/grafana ship, checked by the real tools (promtool, amtool:
/// Debian's prometheus and prometheus-alertmanager, installed by build/deps.sh) and against a
/// live scrape of a correlator with traffic.
/// </summary>
public sealed partial class PrometheusDeployTests
{
    private static string Prometheus => Path.Combine(RepoPaths.Root, "deploy", "prometheus");

    [TestCase("/usr/bin/promtool", "check rules hopcapture.rules.yml", "SUCCESS: 9 rules found", TestName = "PromtoolCheckRules_ShippedRules_Valid")]
    [TestCase("/usr/bin/promtool", "test rules hopcapture.rules.test.yml", "SUCCESS", TestName = "PromtoolTestRules_ShippedRuleTests_Pass")]
    [TestCase("/usr/bin/promtool", "check config prometheus.example.yml", "is valid prometheus config file syntax", TestName = "PromtoolCheckConfig_ScrapeExample_ValidWithItsRules")]
    [TestCase("/usr/bin/amtool", "check-config alertmanager.example.yml", "SUCCESS", TestName = "AmtoolCheckConfig_RouteExample_Valid")]
    [CancelAfter(60_000)]
    public async Task Tool_ShippedFile_Accepted(string tool, string arguments, string success, CancellationToken cancellationToken)
    {
        Assert.That(File.Exists(tool), Is.True, $"{tool} is missing: run build/deps.sh");

        var result = await ProcessRunner.RunAsync(tool, arguments.Split(' '), TimeSpan.FromSeconds(30), cancellationToken, Prometheus);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
        Assert.That(result.StdOut + result.StdErr, Does.Contain(success));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Dashboard_EveryQuery_NamesASeriesInALiveScrape(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?> { ["Correlator:Metrics:Listen"] = "127.0.0.1:0" }, cancellationToken: cancellationToken);
        var scrape = await ScrapeWithTrafficAsync(correlator, cancellationToken);
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "deploy", "grafana", "hopcapture.dashboard.json"), cancellationToken));
        var expressions = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(p => p.GetProperty("targets").EnumerateArray())
            .Select(t => t.GetProperty("expr").GetString()!)
            .ToList();
        var exported = scrape.Split('\n').Where(l => l.Length > 0 && l[0] != '#').Select(l => SeriesName().Match(l).Value).ToHashSet(StringComparer.Ordinal);

        Assert.That(expressions, Has.Count.GreaterThan(10));
        Assert.Multiple(() =>
        {
            foreach (var expression in expressions)
            {
                var names = MetricName().Matches(expression).Select(m => m.Value).ToList();
                Assert.That(names, Is.Not.Empty, $"'{expression}' names no hopcapture series");
                foreach (var name in names)
                {
                    Assert.That(exported, Does.Contain(name), $"'{expression}': {name} is not in the correlator's scrape");
                }
            }
        });
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task PromtoolCheckMetrics_LiveScrapeWithTraffic_Clean(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?> { ["Correlator:Metrics:Listen"] = "127.0.0.1:0" }, cancellationToken: cancellationToken);
        var scrape = await ScrapeWithTrafficAsync(correlator, cancellationToken);
        var file = Path.Combine(Path.GetTempPath(), $"hopcapture-scrape-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(file, scrape, cancellationToken);
        try
        {
            var result = await ProcessRunner.RunAsync("/bin/sh", ["-c", "exec /usr/bin/promtool check metrics < \"$1\"", "sh", file], TimeSpan.FromSeconds(30), cancellationToken);

            Assert.That(result.ExitCode, Is.EqualTo(0), result.ToString());
            Assert.That(result.StdOut + result.StdErr, Is.Empty, "no lint findings");
        }
        finally
        {
            File.Delete(file);
        }
    }

    /// <summary>/metrics of a correlator with an agent connected and answered and lost probes on two paths.</summary>
    internal static async Task<string> ScrapeWithTrafficAsync(TestCorrelator correlator, CancellationToken cancellationToken)
    {
        var address = MetricsAddress(correlator);
        var bus = correlator.Services.GetRequiredService<StoredProbeBus>();
        await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a"));
        foreach (var dst in new[] { "10.77.0.12", "10.77.0.13" })
        {
            bus.Publish(Records.Answered("10.77.0.11", dst, "fabric", 120));
            bus.Publish(Records.Lost("10.77.0.11", dst, "fabric"));
        }

        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
        return await TestCorrelator.EventuallyAsync(
            token => http.GetStringAsync(address + "/metrics", token),
            t => t.Contains("hopcapture_node_pair_probes_total{src_node=\"hv1\",dst_node=\"hv2\"} 4", StringComparison.Ordinal)
                 && t.Contains("hopcapture_agent_connected{node=\"vm_a\"} 1", StringComparison.Ordinal),
            "the probes and the agent in the scrape");
    }

    internal static string MetricsAddress(TestCorrelator correlator) =>
        correlator.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>()
            .Features.Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()!.Addresses.ElementAt(1);

    [GeneratedRegex(@"\bhopcapture_[a-z0-9_]+\b")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex SeriesName();
}
