using Microsoft.Extensions.DependencyInjection;
using HopCapture.Correlator.Storage;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace HopCapture.Tests.Alerts;

public sealed class MetricsTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Metrics_ScrapedOverHttp1_ShowSegmentHistogramsLossAndAgents(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?> { ["Correlator:Metrics:Listen"] = "127.0.0.1:0" }, cancellationToken: cancellationToken);
        var addresses = correlator.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();
        Assert.That(addresses, Has.Count.EqualTo(2), "the gRPC listener and the metrics listener");
        Assert.That(addresses[0], Is.EqualTo(correlator.Address), "gRPC stays the first address");
        var watch = correlator.Services.GetRequiredService<StoredProbeBus>();
        await using (await TestAgent.ConnectAsync(correlator, Report003.HelloFor("vm_a")))
        {
            watch.Publish(Records.Answered("10.77.0.11", "10.77.0.12", "fabric", 120));
            watch.Publish(Records.Lost("10.77.0.11", "10.77.0.12", "fabric"));

            using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
            var text = await TestCorrelator.EventuallyAsync(
                token => http.GetStringAsync(addresses[1] + "/metrics", token),
                t => t.Contains("hopcapture_probes_lost_total{", StringComparison.Ordinal),
                "probe metrics");

            Assert.That(text, Does.Contain("hopcapture_segment_cost_seconds_bucket{src=\"10.77.0.11\",dst=\"10.77.0.12\",segment=\"fabric\",le=\"0.2048\"} 1"));
            Assert.That(text, Does.Contain("hopcapture_segment_cost_seconds_bucket{src=\"10.77.0.11\",dst=\"10.77.0.12\",segment=\"fabric\",le=\"0.1024\"} 0"));
            Assert.That(text, Does.Contain("hopcapture_probes_total{src=\"10.77.0.11\",dst=\"10.77.0.12\"} 2"));
            Assert.That(text, Does.Contain("hopcapture_probes_lost_total{src=\"10.77.0.11\",dst=\"10.77.0.12\",segment=\"fabric\"} 1"));
            Assert.That(text, Does.Contain("hopcapture_agent_connected{node=\"vm_a\"} 1"));
            Assert.That(text, Does.Contain("hopcapture_ingest_observations_total"));
            Assert.That(text, Does.Contain("hopcapture_agent_dropped_total"));
        }
    }

    [TestCase(true)]
    [TestCase(false)]
    [CancelAfter(60_000)]
    public async Task Metrics_OnTheGrpcPort_NotFound(bool metricsListener, CancellationToken cancellationToken)
    {
        var overrides = metricsListener ? new Dictionary<string, string?> { ["Correlator:Metrics:Listen"] = "127.0.0.1:0" } : null;
        await using var correlator = await TestCorrelator.StartAsync(overrides: overrides, cancellationToken: cancellationToken);
        var addresses = correlator.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.ToList();

        // The gRPC port speaks cleartext HTTP/2 (prior knowledge), as a scraper pointed at it would.
        using var h2c = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var onGrpcPort = await h2c.GetAsync(correlator.Address + "/metrics", cancellationToken);

        Assert.That(onGrpcPort.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.NotFound), "metrics only where configured, never on the gRPC port");
        if (metricsListener)
        {
            using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
            using var onMetricsPort = await http.GetAsync(addresses[1] + "/metrics", cancellationToken);
            Assert.That(onMetricsPort.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.OK));
        }
    }
}
