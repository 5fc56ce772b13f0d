using HopCapture.Protos;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture top</c>: an interface's flows by bytes over a window, like iftop with ports.</summary>
public static class TopView
{
    public static IRenderable Build(GetTrafficResponse response, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(response);
        var rows = new List<IRenderable>();
        foreach (var window in response.Windows)
        {
            var seconds = Math.Max(1e-9, (window.ToNs - window.FromNs) / 1e9);
            rows.Add(Tables.Bold($"{window.Node}/{window.Iface} ({Formats.Role(window.Role)}{(window.Point.Length > 0 && window.Point != window.Iface ? ", point " + window.Point : "")}) " +
                $"{Formats.Time(window.FromNs, today)} – {Formats.Time(window.ToNs, today)}"));
            if (window.Error.Length > 0)
            {
                rows.Add(Tables.Line("  " + window.Error));
                continue;
            }

            rows.Add(Tables.Line(
                $"  in {TrafficText.Bytes(window.InBytes)} ({TrafficText.Mbps(window.InBytes * 8 / seconds / 1e6)} mean), " +
                $"out {TrafficText.Bytes(window.OutBytes)} ({TrafficText.Mbps(window.OutBytes * 8 / seconds / 1e6)} mean); " +
                $"speed {TrafficText.Speed(window.SpeedMbps)}; kernel drops {window.KernelDropped}" +
                (window.SampleEvery > 1 ? $"; flows sampled 1 in {window.SampleEvery}" : "") +
                (window.UnattributedBytes > 0 ? $"; {TrafficText.Bytes(window.UnattributedBytes)} unattributed" : "")));
            var table = Tables.Create("dir", "flow", ">bytes", ">packets", ">share", ">mean rate");
            foreach (var flow in window.Flows)
            {
                var total = flow.Direction == Direction.In ? window.InBytes : window.OutBytes;
                table.Row(
                    TrafficText.Direction(flow.Direction),
                    TrafficText.Flow(flow),
                    TrafficText.Bytes(flow.Bytes),
                    Formats.Count(flow.Packets),
                    Formats.Percent(total == 0 ? 0 : (double)flow.Bytes / total),
                    TrafficText.Mbps(flow.Bytes * 8 / seconds / 1e6));
            }

            rows.Add(table);
            rows.AddRange(IncidentsView.Timeline([window], 0, 0));
            rows.Add(Tables.Blank());
        }

        return rows.Count == 0 ? Tables.Line("no accounted interfaces") : new Spectre.Console.Rows(rows);
    }
}
