using HopCapture.Cli.Rendering;
using HopCapture.Protos;
using ScottPlot;
using SkiaSharp;

namespace HopCapture.Tests.Traffic;

public class PathPictureTests
{
    private const long Ms = 1_000_000;
    private const long Second = 1_000_000_000;
    private const long T0 = 1_764_547_200L * Second;

    /// <summary>20 s of probes every 100 ms, slow (fabric +120 ms) from 8 s to 12 s, one lost; a burst on hv1/eno1 at the same time.</summary>
    private static PictureData Spike()
    {
        var probes = new List<ProbeRecord>();
        for (var i = 0; i < 200; i++)
        {
            var slow = i is >= 80 and < 120;
            var fabric = slow ? 120 * Ms : 40_000;
            var probe = new ProbeRecord { Id = i + 1, FirstTsNs = T0 + (i * 100 * Ms), Answered = i != 150, RttNs = i == 150 ? 0 : fabric + 200_000 };
            probe.Segments.Add(new Segment { Kind = "vif", CostNs = 50_000 });
            probe.Segments.Add(new Segment { Kind = "fabric", CostNs = fabric });
            probes.Add(probe);
        }

        var window = new TrafficWindow { Node = "hv1", Iface = "eno1", FromNs = T0, ToNs = T0 + (20 * Second), BucketNs = 100 * Ms, InBytes = 1, OutBytes = 1 };
        for (var b = 0; b < 200; b++)
        {
            window.Buckets.Add(new TrafficBucket { StartNs = T0 + (b * 100 * Ms), InBytes = b is >= 78 and < 121 ? 125_000UL : 500UL, OutBytes = 300 });
        }

        return new PictureData("incident 1: fabric", probes, "fabric", [window], T0 + (8 * Second), T0 + (12 * Second));
    }

    [Test]
    public void Build_Spike_RoundTripBandMedianSegmentCostLossAndThroughputSeries()
    {
        var (top, bottom) = PathPicture.Build(Spike());

        var topSeries = top.GetPlottables().Select(p => p switch
        {
            ScottPlot.Plottables.Scatter s => s.LegendText,
            ScottPlot.Plottables.FillY f => f.LegendText,
            ScottPlot.Plottables.HorizontalSpan h => h.LegendText,
            _ => p.GetType().Name,
        }).ToList();
        Assert.That(topSeries, Is.EqualTo(new[] { "round trip min–max", "round trip median", "fabric cost median", "lost", "slow probes" }));
        var median = top.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().Single(s => s.LegendText == "round trip median");
        var points = median.Data.GetScatterPoints();
        Assert.That(points, Has.Count.EqualTo(40), "20 s in 500 ms bins");
        Assert.That(points.Max(p => p.Y), Is.EqualTo(120.2).Within(0.01), "the slow bins' median is the 120 ms fabric cost plus the rest");
        Assert.That(points.Min(p => p.Y), Is.EqualTo(0.24).Within(0.01));

        var lines = bottom.GetPlottables().OfType<ScottPlot.Plottables.Scatter>().ToList();
        Assert.That(lines.Select(l => l.LegendText), Is.EqualTo(new[] { "hv1/eno1 in", "hv1/eno1 out" }));
        var inbound = lines[0].Data.GetScatterPoints();
        Assert.That(inbound.Max(p => p.Y), Is.EqualTo(10).Within(1e-9), "125 000 B per 100 ms = 10 Mbit/s");
        Assert.That(inbound.Where(p => p.Y > 5).Select(p => p.X), Has.All.InRange(7.7, 12.1), "the burst lies where the probes slowed");
    }

    [Test]
    public void Png_Spike_DecodesAtItsSize()
    {
        var bytes = PathPicture.Png(Spike());
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, "path-picture-spike.png");
        File.WriteAllBytes(file, bytes);

        using var bitmap = SKBitmap.Decode(bytes);
        Assert.That((bitmap.Width, bitmap.Height), Is.EqualTo((PathPicture.Width, PathPicture.Height)), file);
    }
}
