using HopCapture.Protos;
using ScottPlot;
using SkiaSharp;

namespace HopCapture.Cli.Rendering;

/// <summary>What a picture shows: a path's probes, the segment to draw the cost of, the link's throughput, the spike.</summary>
public sealed record PictureData(
    string Title, IReadOnlyList<ProbeRecord> Probes, string SegmentKind, IReadOnlyList<TrafficWindow> Windows, long SpikeFromNs, long SpikeToNs);

/// <summary>
/// The picture to paste into a ticket (ScottPlot, rendered headless through SkiaSharp): on top a
/// path's round trip SmokePing-style — per time bin the median as a line and the spread
/// (min–max) as a band — with the blamed segment's cost median; underneath the throughput of the
/// blamed link per direction, on the same time axis (seconds from the first sample), the spike
/// shaded in both.
/// </summary>
public static class PathPicture
{
    public const int Width = 1000;
    public const int Height = 700;

    /// <summary>Time bins of the SmokePing-style panel.</summary>
    public static readonly TimeSpan Bin = TimeSpan.FromMilliseconds(500);

    public static byte[] Png(PictureData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var (top, bottom) = Build(data);
        // Each panel is rendered on its own (a plot paints its background over the whole canvas it is given), then stacked.
        var split = (int)(Height * 0.55);
        using var upper = SKBitmap.Decode(top.GetImageBytes(Width, split, ImageFormat.Png));
        using var lower = SKBitmap.Decode(bottom.GetImageBytes(Width, Height - split, ImageFormat.Png));
        using var surface = SKSurface.Create(new SKImageInfo(Width, Height));
        surface.Canvas.Clear(SKColors.White);
        surface.Canvas.DrawBitmap(upper, 0, 0);
        surface.Canvas.DrawBitmap(lower, 0, split);
        using var image = surface.Snapshot();
        using var png = image.Encode(SKEncodedImageFormat.Png, 100);
        return png.ToArray();
    }

    /// <summary>The two panels, unrendered: tests read their series from here.</summary>
    public static (Plot Top, Plot Bottom) Build(PictureData data)
    {
        ArgumentNullException.ThrowIfNull(data);
        var origin = Origin(data);
        var top = new Plot();
        top.Title(data.Title);
        top.YLabel("ms");
        var answered = data.Probes.Where(p => p.Answered && p.RttNs > 0).ToList();
        var bins = answered
            .GroupBy(p => (p.FirstTsNs - origin) / (long)Bin.TotalNanoseconds)
            .OrderBy(g => g.Key)
            .Select(g => (X: (g.Key + 0.5) * Bin.TotalSeconds, Rtts: g.Select(p => p.RttNs / 1e6).Order().ToList(),
                Costs: g.Select(p => SegmentCost(p, data.SegmentKind)).Where(c => c >= 0).Order().ToList()))
            .ToList();
        if (bins.Count > 0)
        {
            var band = top.Add.FillY(bins.Select(b => b.X).ToArray(), bins.Select(b => b.Rtts[0]).ToArray(), bins.Select(b => b.Rtts[^1]).ToArray());
            band.LegendText = "round trip min–max";
            band.FillColor = Colors.Gray.WithAlpha(0.35);
            var median = top.Add.ScatterLine(bins.Select(b => b.X).ToArray(), bins.Select(b => Median(b.Rtts)).ToArray(), Colors.Black);
            median.LegendText = "round trip median";
            var withCost = bins.Where(b => b.Costs.Count > 0).ToList();
            if (withCost.Count > 0 && data.SegmentKind.Length > 0)
            {
                var cost = top.Add.ScatterLine(withCost.Select(b => b.X).ToArray(), withCost.Select(b => Median(b.Costs)).ToArray(), Colors.OrangeRed);
                cost.LegendText = $"{data.SegmentKind} cost median";
            }
        }

        var lost = data.Probes.Where(p => !p.Answered).Select(p => (p.FirstTsNs - origin) / 1e9).ToArray();
        if (lost.Length > 0)
        {
            var marks = top.Add.Scatter(lost, lost.Select(_ => 0.0).ToArray(), Colors.Red);
            marks.LineWidth = 0;
            marks.MarkerSize = 6;
            marks.LegendText = "lost";
        }

        var bottom = new Plot();
        bottom.YLabel("Mbit/s");
        bottom.XLabel($"seconds after {Formats.ClockTime(origin)} UTC");
        var palette = new[] { Colors.Blue, Colors.Green, Colors.Purple, Colors.Brown, Colors.Teal, Colors.Magenta };
        var next = 0;
        foreach (var window in data.Windows.Where(w => w.Error.Length == 0))
        {
            foreach (var inbound in new[] { true, false })
            {
                if ((inbound ? window.InBytes : window.OutBytes) == 0)
                {
                    continue;
                }

                var seconds = window.BucketNs / 1e9;
                var xs = window.Buckets.Select(b => (b.StartNs - origin) / 1e9).ToArray();
                var ys = window.Buckets.Select(b => (inbound ? b.InBytes : b.OutBytes) * 8 / seconds / 1e6).ToArray();
                var line = bottom.Add.ScatterLine(xs, ys, palette[next++ % palette.Length]);
                line.LegendText = $"{window.Node}/{window.Iface} {(inbound ? "in" : "out")}";
            }
        }

        if (data.SpikeFromNs != 0 && data.SpikeToNs > data.SpikeFromNs)
        {
            foreach (var plot in new[] { top, bottom })
            {
                var span = plot.Add.HorizontalSpan((data.SpikeFromNs - origin) / 1e9, (data.SpikeToNs - origin) / 1e9, Colors.Orange.WithAlpha(0.15));
                span.LegendText = plot == top ? "slow probes" : "";
            }
        }

        top.ShowLegend(Alignment.UpperLeft);
        bottom.ShowLegend(Alignment.UpperLeft);
        // Same margins, so the two panels' time axes line up pixel for pixel.
        top.Layout.Fixed(new PixelPadding(70, 20, 40, 40));
        bottom.Layout.Fixed(new PixelPadding(70, 20, 50, 10));

        // One time axis for both panels: everything either of them draws.
        var times = data.Probes.Select(p => p.FirstTsNs)
            .Concat(data.Windows.SelectMany(w => w.Buckets.Select(b => b.StartNs)))
            .Select(t => (t - origin) / 1e9)
            .ToList();
        if (times.Count > 0)
        {
            var (left, right) = (times.Min(), Math.Max(times.Max(), times.Min() + 1));
            var pad = (right - left) * 0.02;
            top.Axes.SetLimitsX(left - pad, right + pad);
            bottom.Axes.SetLimitsX(left - pad, right + pad);
        }

        return (top, bottom);
    }

    /// <summary>The cost (ms) of the probe's first segment of <paramref name="kind"/>; -1 when it has none.</summary>
    public static double SegmentCost(ProbeRecord probe, string kind)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var segment = probe.Segments.FirstOrDefault(s => s.Kind == kind);
        return segment is null ? -1 : segment.CostNs / 1e6;
    }

    private static long Origin(PictureData data)
    {
        var starts = data.Probes.Select(p => p.FirstTsNs).Concat(data.Windows.Where(w => w.FromNs != 0).Select(w => w.FromNs)).ToList();
        return starts.Count == 0 ? 0 : starts.Min();
    }

    private static double Median(List<double> sorted) =>
        sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}
