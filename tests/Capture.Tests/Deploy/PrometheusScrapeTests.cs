using System.Globalization;
using System.Text.Json;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Deploy;

/// <summary>
/// The real Prometheus (Debian's prometheus 2.42) scraping a correlator on loopback every second,
/// with the shipped hopcapture.rules.yml, while six agents stream field report 003's probes (a
/// 120 ms fabric) through real ingest, engine and store: the recording rule's fabric p99 lands in
/// the histogram bucket of what `capture paths` and `capture explain` report.
/// </summary>
[NonParallelizable]
public sealed class PrometheusScrapeTests
{
    private const string Binary = "/usr/bin/prometheus";

    /// <summary>The correlator's bucket bounds (25 µs × 2^k, 18 buckets), as CorrelatorMetrics builds them.</summary>
    private static readonly double[] Bounds = [.. Enumerable.Range(0, 18).Select(k => 0.000025 * Math.Pow(2, k))];

    [Test]
    [CancelAfter(180_000)]
    public async Task Prometheus_RecordingRuleFabricP99_AgreesWithCapturePathsWithinABucket(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?> { ["Correlator:Metrics:Listen"] = "127.0.0.1:0" }, cancellationToken: cancellationToken);
        var target = new Uri(PrometheusDeployTests.MetricsAddress(correlator)).Authority;
        var directory = Path.Combine(Path.GetTempPath(), "hopcapture-prom-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var port = LoopbackPorts.Free();
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {Path.Combine(RepoPaths.Root, "deploy", "prometheus", "hopcapture.rules.yml")}
            scrape_configs:
              - job_name: hopcapture-correlator
                static_configs:
                  - targets: ["{target}"]
            """, cancellationToken);
        var prometheus = await LoopbackDaemon.StartAsync(
            Binary,
            ["--config.file=" + Path.Combine(directory, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(directory, "data"), $"--web.listen-address=127.0.0.1:{port}"],
            $"http://127.0.0.1:{port}/-/ready",
            cancellationToken);
        var agents = new List<TestAgent>();
        try
        {
            foreach (var (node, _) in Report003.Nodes)
            {
                agents.Add(await TestAgent.ConnectAsync(correlator, Report003.HelloFor(node)));
            }

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
            var query = $"http://127.0.0.1:{port}/api/v1/query?query=" + Uri.EscapeDataString("path:hopcapture_fabric_cost_seconds:p99_1m");
            double? recorded = null;
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
            for (uint seq = 1; recorded is null; seq++)
            {
                Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "no fabric p99 from the recording rule within 90 s");
                for (var i = 0; i < agents.Count; i++)
                {
                    await agents[i].SendBatchAsync(seq, Report003.ObservationsFor(Report003.Nodes[i].Node, seq));
                }

                if (seq % 5 == 0)
                {
                    recorded = Value(await http.GetStringAsync(query, cancellationToken));
                }

                await Task.Delay(100, cancellationToken);
            }

            var paths = await correlator.Query.ListPathsAsync(new ListPathsRequest(), cancellationToken: cancellationToken);
            var path = paths.Paths.Single();
            var worst = await correlator.Query.GetProbeAsync(new GetProbeRequest { Id = path.WorstProbeId }, cancellationToken: cancellationToken);
            var fabric = worst.Segments.Single(s => s.Kind == "fabric").CostNs / 1e9;
            Assert.Multiple(() =>
            {
                Assert.That(Bucket(recorded.Value), Is.EqualTo(Bucket(fabric)), $"recorded fabric p99 {recorded:0.000000} s vs the probes' fabric cost {fabric:0.000000} s");
                Assert.That(Bucket(recorded.Value), Is.EqualTo(Bucket(path.RttP99Ns / 1e9)),
                    $"recorded fabric p99 {recorded:0.000000} s vs capture paths' p99 {path.RttP99Ns / 1e9:0.000000} s (the fabric is the whole delay)");
            });
        }
        finally
        {
            foreach (var agent in agents)
            {
                await agent.DisposeAsync();
            }

            await LoopbackDaemon.StopAsync(prometheus);
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Index of the bucket (upper bound ≥ value) the value falls in.</summary>
    private static int Bucket(double seconds) => Array.FindIndex(Bounds, b => seconds <= b);

    /// <summary>The single sample of an instant query, or null while there is none (or it is NaN).</summary>
    private static double? Value(string response)
    {
        using var document = JsonDocument.Parse(response);
        var result = document.RootElement.GetProperty("data").GetProperty("result");
        if (result.GetArrayLength() == 0)
        {
            return null;
        }

        var value = double.Parse(result[0].GetProperty("value")[1].GetString()!, CultureInfo.InvariantCulture);
        return double.IsNaN(value) ? null : value;
    }
}
