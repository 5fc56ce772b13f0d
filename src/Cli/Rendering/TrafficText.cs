using System.Globalization;
using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Cli.Rendering;

/// <summary>Text forms of traffic: flows, rates, byte counts, and a throughput sparkline for the terminal.</summary>
public static class TrafficText
{
    private const string Bars = "▁▂▃▄▅▆▇█";

    /// <summary>"10.77.0.3:40312 → 10.77.0.1:5201 udp (iperf3)".</summary>
    public static string Flow(TrafficFlow flow)
    {
        ArgumentNullException.ThrowIfNull(flow);
        var src = IpAddress128.Format(IpAddress128.FromBytes(flow.Src.Span));
        var dst = IpAddress128.Format(IpAddress128.FromBytes(flow.Dst.Span));
        var ports = flow.SrcPort != 0 || flow.DstPort != 0;
        var proto = flow.Protocol switch { 6 => "tcp", 17 => "udp", 1 => "icmp", 58 => "icmpv6", 132 => "sctp", _ => "ip/" + flow.Protocol.ToString(CultureInfo.InvariantCulture) };
        var service = flow.Service.Length == 0 || flow.Service == proto ? "" : $" ({flow.Service})";
        return ports
            ? $"{src}:{flow.SrcPort} {Formats.Arrow} {dst}:{flow.DstPort} {proto}{service}"
            : $"{src} {Formats.Arrow} {dst} {proto}{service}";
    }

    public static string Direction(Direction direction) => direction == Protos.Direction.In ? "in" : direction == Protos.Direction.Out ? "out" : "?";

    public static string Bytes(ulong bytes) => bytes switch
    {
        >= 1UL << 30 => (bytes / (double)(1UL << 30)).ToString("0.0", CultureInfo.InvariantCulture) + " GiB",
        >= 1UL << 20 => (bytes / (double)(1UL << 20)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        >= 1UL << 10 => (bytes / (double)(1UL << 10)).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };

    public static string Mbps(double mbps) => mbps >= 1000
        ? (mbps / 1000).ToString("0.00", CultureInfo.InvariantCulture) + " Gbit/s"
        : mbps.ToString("0.0", CultureInfo.InvariantCulture) + " Mbit/s";

    public static string Speed(long speedMbps) => speedMbps > 0 ? Mbps(speedMbps) : "unknown";

    /// <summary>Bytes per second of one direction, bucket by bucket, over the window (empty buckets are zero).</summary>
    public static double[] Series(TrafficWindow window, bool inbound, int columns)
    {
        ArgumentNullException.ThrowIfNull(window);
        var series = new double[Math.Max(1, columns)];
        var span = Math.Max(1, window.ToNs - window.FromNs);
        var perColumnNs = (double)span / series.Length;
        foreach (var bucket in window.Buckets)
        {
            var column = (int)((bucket.StartNs - window.FromNs) / perColumnNs);
            if (column >= 0 && column < series.Length)
            {
                series[column] = Math.Max(series[column], (inbound ? bucket.InBytes : bucket.OutBytes) * 8 / (window.BucketNs / 1e9) / 1e6);
            }
        }

        return series;
    }

    /// <summary>A sparkline of <paramref name="series"/> scaled to its own peak: the shape of a burst at a glance.</summary>
    public static string Sparkline(IReadOnlyList<double> series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var peak = series.Count == 0 ? 0 : series.Max();
        return string.Concat(series.Select(v => peak <= 0 || v <= 0 ? ' ' : Bars[(int)Math.Min(Bars.Length - 1, Math.Round(v / peak * (Bars.Length - 1)))]));
    }

    /// <summary>A ruler under a sparkline: '^' over the columns of [fromNs, toNs].</summary>
    public static string Marker(TrafficWindow window, long fromNs, long toNs, int columns)
    {
        ArgumentNullException.ThrowIfNull(window);
        var span = Math.Max(1, window.ToNs - window.FromNs);
        var first = (int)Math.Clamp((fromNs - window.FromNs) * columns / span, 0, columns - 1);
        var last = (int)Math.Clamp((toNs - window.FromNs) * columns / span, first, columns - 1);
        return new string(' ', first) + new string('^', last - first + 1);
    }
}
