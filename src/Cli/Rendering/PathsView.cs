using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture paths</c>: one row per src → dst with loss, RTT percentiles and where the time went.</summary>
public static class PathsView
{
    public static IRenderable Build(ListPathsResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Paths.Count == 0)
        {
            return Tables.Line("no probes seen in this time window");
        }

        var table = Tables.Create(
            "src → dst", ">probes", ">loss", ">RTT p50", ">p99", ">max", "dominant segment", ">worst probe");
        foreach (var path in response.Paths)
        {
            var loss = path.Probes == 0 ? 0 : (double)path.Lost / path.Probes;
            table.Row(
                Formats.Path(Formats.Labeled(path.Src, path.SrcVm), Formats.Labeled(path.Dst, path.DstVm)),
                Formats.Count(path.Probes),
                $"{Formats.Count(path.Lost)} ({Formats.Percent(loss)})",
                path.Answered == 0 ? Formats.Missing : Formats.Duration(path.RttP50Ns),
                path.Answered == 0 ? Formats.Missing : Formats.Duration(path.RttP99Ns),
                path.Answered == 0 ? Formats.Missing : Formats.Duration(path.RttMaxNs),
                string.IsNullOrEmpty(path.DominantSegment) ? Formats.Missing
                    : path.DominantLeg switch
                    {
                        "request" or "reply" => $"{path.DominantSegment} ({path.DominantLeg} leg)",
                        "both" => $"{path.DominantSegment} (both legs)",
                        _ => path.DominantSegment,
                    },
                path.WorstProbeId == 0 ? Formats.Missing : path.WorstProbeId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return table;
    }
}
