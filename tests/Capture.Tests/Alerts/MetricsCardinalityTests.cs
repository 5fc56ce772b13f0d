using HopCapture.Correlator.Metrics;
using HopCapture.Correlator.Storage;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Deploy;
using HopCapture.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Alerts;

/// <summary>Per-path series are bounded: selected paths, the busiest TopPaths, the rest per node pair only (issue 13).</summary>
public sealed class MetricsCardinalityTests
{
    private static MetricsOptions Options(int top, params string[] selectedSrc) => new()
    {
        TopPaths = top,
        Paths = [.. selectedSrc.Select(s => new MetricsPathOptions { Src = s, Dst = "*" })],
    };

    [Test]
    public void Track_MorePathsThanSlots_FirstComersGetTheFreeSlotsAndTheRestFold()
    {
        var budget = new PathSeriesBudget(Options(2));

        var tracked = Enumerable.Range(1, 4).Select(i => budget.Track("10.0.0.1", $"10.0.1.{i}")).ToList();

        Assert.That(tracked, Is.EqualTo(new[] { true, true, false, false }));
        Assert.That((budget.Top, budget.Folded), Is.EqualTo((2, 2)));
    }

    [Test]
    public void Track_SelectedByGlob_AlwaysTrackedWithoutTakingATopSlot()
    {
        var budget = new PathSeriesBudget(Options(1, "10.9.*"));
        budget.Track("10.0.0.1", "10.0.1.1");

        Assert.That(budget.Track("10.9.0.5", "10.0.1.1"), Is.True);
        Assert.That(budget.Track("10.0.0.1", "10.0.1.2"), Is.False, "the one top slot is taken");
        Assert.That((budget.Selected, budget.Top), Is.EqualTo((1, 1)));
    }

    [Test]
    public void Track_SelectedBeyondTheLimit_Folds()
    {
        var budget = new PathSeriesBudget(new MetricsOptions { TopPaths = 0, SelectedPathLimit = 2, Paths = [new MetricsPathOptions()] });

        var tracked = Enumerable.Range(1, 3).Select(i => budget.Track("10.0.0.1", $"10.0.1.{i}")).ToList();

        Assert.That(tracked, Is.EqualTo(new[] { true, true, false }), "a '*' selector cannot explode the series count");
    }

    [Test]
    public void Rerank_BusierPathArrivedLate_TakesTheSlotAndTheQuietOneIsEvicted()
    {
        var budget = new PathSeriesBudget(Options(1));
        budget.Track("a", "quiet");
        for (var i = 0; i < 10; i++)
        {
            Assert.That(budget.Track("a", "busy"), Is.False, "no free slot until the ranking");
        }

        var evicted = budget.Rerank();

        Assert.That(evicted, Is.EqualTo(new[] { ("a", "quiet") }));
        Assert.That(budget.Track("a", "busy"), Is.True);
        Assert.That(budget.Track("a", "quiet"), Is.False);
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Metrics_FivePathsTopTwoOneSelected_ThreePathsHaveSeriesAndNodePairsCountAll(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?>
            {
                ["Correlator:Metrics:Listen"] = "127.0.0.1:0",
                ["Correlator:Metrics:TopPaths"] = "2",
                ["Correlator:Metrics:Paths:0:Src"] = "10.9.*",
            },
            cancellationToken: cancellationToken);
        var bus = correlator.Services.GetRequiredService<StoredProbeBus>();
        foreach (var src in new[] { "10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.9.0.1" })
        {
            bus.Publish(Records.Answered(src, "10.77.0.12", "fabric", 120));
        }

        using var http = new HttpClient { DefaultRequestVersion = System.Net.HttpVersion.Version11 };
        var text = await TestCorrelator.EventuallyAsync(
            token => http.GetStringAsync(PrometheusDeployTests.MetricsAddress(correlator) + "/metrics", token),
            t => t.Contains("hopcapture_node_pair_probes_total{src_node=\"hv1\",dst_node=\"hv2\"} 5", StringComparison.Ordinal),
            "five probes counted per node pair");
        var paths = text.Split('\n').Where(l => l.StartsWith("hopcapture_probes_total{", StringComparison.Ordinal)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(paths, Is.EquivalentTo(new[]
            {
                "hopcapture_probes_total{src=\"10.0.0.1\",dst=\"10.77.0.12\"} 1",
                "hopcapture_probes_total{src=\"10.0.0.2\",dst=\"10.77.0.12\"} 1",
                "hopcapture_probes_total{src=\"10.9.0.1\",dst=\"10.77.0.12\"} 1",
            }));
            Assert.That(text, Does.Contain("hopcapture_node_pair_segment_cost_seconds_count{src_node=\"hv1\",dst_node=\"hv2\",segment=\"fabric\"} 5"));
            Assert.That(text, Does.Contain("hopcapture_metrics_path_limit{kind=\"top\"} 2"));
            Assert.That(text, Does.Contain("hopcapture_metrics_paths{kind=\"selected\"} 1"));
            Assert.That(text, Does.Contain("hopcapture_metrics_paths{kind=\"top\"} 2"));
            Assert.That(text, Does.Contain("hopcapture_metrics_paths{kind=\"folded\"} 2"));
            Assert.That(text, Does.Contain("hopcapture_metrics_folded_probes_total 2"));
        });
    }
}
