using System.Diagnostics;
using System.Text.Json;
using Google.Protobuf;
using HopCapture.Lab.Tests.Infrastructure;
using HopCapture.Protos;

namespace HopCapture.Lab.Tests.Scenarios;

/// <summary>
/// Issue 5 end to end in the lab: the correlator pushes a probe plan (vm1 → vm2 every 100 ms)
/// to the real agents, alerts on the fabric segment and notifies a real HTTP receiver.
/// Stated times: a fabric rule fires within <see cref="FireWithin"/> of the congestion starting
/// and resolves within <see cref="ResolveWithin"/> of it stopping; vif-side delay of the same
/// size never fires it. `capture trace` runs vm1 → vm2 through the same pipeline. The shipped
/// Prometheus rules (deploy/prometheus/hopcapture.rules.yml), loaded into the real Prometheus
/// scraping this correlator's /metrics, raise HopCaptureFabricSlow for the same congestion.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AlertingTests
{
    public static readonly TimeSpan FireWithin = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan ResolveWithin = TimeSpan.FromSeconds(60);

    private const string Source = "10.77.0.11";
    private const string Destination = "10.77.0.12";
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private LabEnvironment? _lab;
    private WebhookReceiver? _receiver;
    private string? _config;
    private int _metricsPort;

    [OneTimeSetUp]
    public async Task StartLabAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var reason = await LabEnvironment.UnavailableReasonAsync(limit.Token);
        if (reason is not null)
        {
            Assert.Ignore(reason);
        }

        _lab = LabEnvironment.Locate();
        _receiver = await WebhookReceiver.StartAsync();
        _config = Path.Combine(Path.GetTempPath(), $"hopcapture-lab-alerts-{Environment.ProcessId}.json");
        _metricsPort = LoopbackPorts.Free();
        await File.WriteAllTextAsync(_config, Config(_receiver.Url, _metricsPort), limit.Token);
        var started = false;
        Environment.SetEnvironmentVariable("HC_CORRELATOR_CONFIG", _config);
        try
        {
            await _lab.LabAsync(TimeSpan.FromMinutes(1), limit.Token, "up");
            await _lab.LabAsync(TimeSpan.FromMinutes(3), limit.Token, "start-pipeline");
            started = true;
        }
        finally
        {
            Environment.SetEnvironmentVariable("HC_CORRELATOR_CONFIG", null);
            if (!started)
            {
                await TearDownAsync();
            }
        }
    }

    [OneTimeTearDown]
    public async Task StopLabAsync() => await TearDownAsync();

    [Test]
    [Order(1)]
    [CancelAfter(120_000)]
    public async Task Trace_Vm1ToVm2_PassesWithEveryHopAttributed(CancellationToken cancellationToken)
    {
        var lab = _lab!;

        var result = await lab.CliAsync(TimeSpan.FromSeconds(90), cancellationToken,
            "--json", "trace", "--from", "vm1", "--to", "vm2", "--count", "20", "--interval", "50ms");

        Assert.That(result.ExitCode, Is.Zero, result + "\n" + lab.LogTails());
        var report = s_parser.Parse<TraceReport>(result.StdOut);
        Assert.That(report.Sent, Is.EqualTo(20));
        Assert.That(report.Received, Is.EqualTo(20));
        Assert.That(report.Jumps, Is.Empty);
        Assert.That(report.Passed, Is.True);
        Assert.That(report.Src, Is.EqualTo(Source));
        Assert.That(report.Dst, Is.EqualTo(Destination));
        Assert.That(report.Segments.Select(s => s.Kind), Is.SupersetOf(new[] { "stack", "vif", "nic", "fabric" }),
            "the prober's app point adds the stack segment to the six capture points");
        Assert.That(report.Segments.First().From, Is.EqualTo("vm1/app"));
    }

    [Test]
    [Order(2)]
    [CancelAfter(240_000)]
    public async Task FabricRule_VifDelayOfSameSize_DoesNotFire(CancellationToken cancellationToken)
    {
        var lab = _lab!;
        var receiver = _receiver!;
        var before = receiver.Received.Count;
        var startNs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000L;
        await lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "fault", "vif");
        try
        {
            // Enough slow plan probes (≥ 3 windows of the rule) prove the delay was there and seen.
            var slow = await PollAsync(
                () => SlowProbesSinceAsync(lab, startNs, cancellationToken),
                n => n >= 300, TimeSpan.FromSeconds(120), cancellationToken);
            Assert.That(slow, Is.GreaterThanOrEqualTo(300), "the vif fault did not slow the plan's probes\n" + lab.LogTails());

            var alerts = await AlertsAsync(lab, cancellationToken);
            Assert.That(alerts.Alerts.Where(a => a.Rule == "fabric-slow"), Is.Empty, "vif delay must not raise the fabric rule, not even pending");
            Assert.That(receiver.Received.Count, Is.EqualTo(before));
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await lab.LabAsync(TimeSpan.FromMinutes(1), cleanup.Token, "fault", "clear");
        }
    }

    [Test]
    [Order(3)]
    [CancelAfter(300_000)]
    public async Task FabricRule_FabricCongestion_FiresWithinStatedTimeAndResolvesAfter(CancellationToken cancellationToken)
    {
        var lab = _lab!;
        var receiver = _receiver!;
        var before = receiver.Received.Count;
        var clock = Stopwatch.StartNew();
        await lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "fault", "fabric");
        TimeSpan firedAfter;
        try
        {
            await PollAsync(() => Task.FromResult(receiver.Received.Count), n => n > before, FireWithin + TimeSpan.FromSeconds(30), cancellationToken);
            firedAfter = clock.Elapsed;
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await lab.LabAsync(TimeSpan.FromMinutes(1), cleanup.Token, "fault", "clear");
        }

        var cleared = Stopwatch.StartNew();
        await PollAsync(() => Task.FromResult(receiver.Received.Count), n => n >= before + 2, ResolveWithin + TimeSpan.FromSeconds(30), cancellationToken);
        var resolvedAfter = cleared.Elapsed;

        var received = receiver.Received.Skip(before).ToList();
        TestContext.Out.WriteLine($"fabric rule fired {firedAfter.TotalSeconds:0.0} s after the fault started, resolved {resolvedAfter.TotalSeconds:0.0} s after it was cleared");
        Assert.That(received, Has.Count.EqualTo(2), "one firing and one resolved notification\n" + lab.LogTails());
        Assert.That(firedAfter, Is.LessThan(FireWithin), "fired too late");
        Assert.That(resolvedAfter, Is.LessThan(ResolveWithin), "resolved too late");
        var firing = received[0];
        Assert.That(firing.Resolved, Is.False);
        Assert.That(firing.Label("alertname"), Is.EqualTo("fabric-slow"));
        Assert.That(firing.Label("segment"), Is.EqualTo("fabric"));
        Assert.That(firing.Label("src"), Is.EqualTo(Source));
        Assert.That(firing.Label("dst"), Is.EqualTo(Destination));
        Assert.That(firing.Annotation("worst_probes"), Is.Not.Empty);
        Assert.That(received[1].Resolved, Is.True);
        Assert.That(received[1].IdempotencyKey, Is.Not.EqualTo(firing.IdempotencyKey));

        var alerts = await AlertsAsync(lab, cancellationToken);
        Assert.That(alerts.Alerts.Single(a => a.Rule == "fabric-slow").State, Is.EqualTo("resolved"));
    }

    [Test]
    [Order(4)]
    [CancelAfter(300_000)]
    public async Task PrometheusRules_FabricCongestion_ShippedAlertFiresInPrometheus(CancellationToken cancellationToken)
    {
        var lab = _lab!;
        var directory = Directory.CreateTempSubdirectory("hopcapture-lab-prometheus-").FullName;
        var port = LoopbackPorts.Free();
        await File.WriteAllTextAsync(Path.Combine(directory, "prometheus.yml"), $$"""
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            rule_files:
              - {{Path.Combine(RepoPaths.Root, "deploy", "prometheus", "hopcapture.rules.yml")}}
            scrape_configs:
              - job_name: hopcapture-correlator
                static_configs:
                  - targets: ["127.0.0.1:{{_metricsPort}}"]
            """, cancellationToken);
        var prometheus = await LoopbackDaemon.StartAsync(
            "/usr/bin/prometheus",
            ["--config.file=" + Path.Combine(directory, "prometheus.yml"), "--storage.tsdb.path=" + Path.Combine(directory, "data"), $"--web.listen-address=127.0.0.1:{port}"],
            $"http://127.0.0.1:{port}/-/ready",
            cancellationToken);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        await lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "fault", "fabric");
        JsonElement? fired;
        try
        {
            // The rule's own timing: recording every 15 s over a 1 m rate, then `for: 1m`.
            fired = await PollAsync(() => PrometheusAlertAsync(http, "HopCaptureFabricSlow", cancellationToken), a => a is not null,
                TimeSpan.FromMinutes(4), cancellationToken);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await lab.LabAsync(TimeSpan.FromMinutes(1), cleanup.Token, "fault", "clear");
            await LoopbackDaemon.StopAsync(prometheus);
            Directory.Delete(directory, recursive: true);
        }

        TestContext.Out.WriteLine($"HopCaptureFabricSlow fired in Prometheus {clock.Elapsed.TotalSeconds:0} s after the fault started");
        Assert.That(fired, Is.Not.Null, "the shipped HopCaptureFabricSlow rule did not fire in Prometheus within 4 minutes\n" + lab.LogTails());
        var labels = fired!.Value.GetProperty("labels");
        Assert.That(new[] { labels.GetProperty("src_node").GetString(), labels.GetProperty("dst_node").GetString() },
            Is.EquivalentTo(new[] { "hv1", "hv2" }), "the node pair on either side of the fabric");
        Assert.That(labels.GetProperty("severity").GetString(), Is.EqualTo("page"));
    }

    /// <summary>The firing alert named <paramref name="name"/> in Prometheus' /api/v1/alerts, or null.</summary>
    private static async Task<JsonElement?> PrometheusAlertAsync(HttpClient http, string name, CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await http.GetStringAsync("/api/v1/alerts", cancellationToken));
        foreach (var alert in document.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray())
        {
            if (alert.GetProperty("labels").GetProperty("alertname").GetString() == name && alert.GetProperty("state").GetString() == "firing")
            {
                return alert.Clone();
            }
        }

        return null;
    }

    private static async Task<T> PollAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        var value = await read();
        while (!done(value) && deadline.Elapsed < timeout)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            value = await read();
        }

        return value;
    }

    private static async Task<int> SlowProbesSinceAsync(LabEnvironment lab, long startNs, CancellationToken cancellationToken)
    {
        var result = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken,
            "probes", "--src", Source, "--dst", Destination, "--since", "5m", "--min-rtt", "20ms", "--limit", "5000", "--json");
        return result.ExitCode == 0 ? s_parser.Parse<ListProbesResponse>(result.StdOut).Probes.Count(p => p.FirstTsNs >= startNs) : 0;
    }

    private static async Task<ListAlertsResponse> AlertsAsync(LabEnvironment lab, CancellationToken cancellationToken)
    {
        var result = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "--json", "alerts");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return s_parser.Parse<ListAlertsResponse>(result.StdOut);
    }

    private async Task TearDownAsync()
    {
        if (_lab is not null)
        {
            using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            await _lab.LabAsync(TimeSpan.FromMinutes(2), limit.Token, "down");
        }

        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }

        if (_config is not null)
        {
            File.Delete(_config);
        }
    }

    private static string Config(string webhook, int metricsPort) => JsonSerializer.Serialize(new
    {
        Correlator = new
        {
            Metrics = new { Listen = $"127.0.0.1:{metricsPort}" },
            Probing = new
            {
                Plans = new[] { new { Name = "vm1-vm2", From = new[] { "vm1" }, To = new[] { "vm2" }, Interval = "00:00:00.100" } },
            },
            Alerts = new
            {
                EvaluationInterval = "00:00:01",
                Rules = new[]
                {
                    new
                    {
                        Name = "fabric-slow", Segment = "fabric", Leg = "reply", Statistic = "p99", Threshold = 50.0,
                        Window = "00:00:10", For = "00:00:05", MinSamples = 20, MinBreaching = 5, Severity = "page",
                    },
                },
                Webhooks = new[] { new { Name = "receiver", Url = webhook, Timeout = "00:00:02", Retries = 2, RetryDelay = "00:00:00.500", MaxBackoff = "00:00:05" } },
            },
        },
    });
}
