using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture loss</c>: per path its loss, then one row per place the lost probes vanished.</summary>
public static class LossView
{
    public static IRenderable Build(ListLossResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Paths.Count == 0)
        {
            return Tables.Line("no probes seen in this time window");
        }

        var table = Tables.Create("src → dst", ">probes", ">lost", ">rate", "lost in", "leg", "after", ">lost here", ">rate here");
        foreach (var path in response.Paths)
        {
            var first = true;
            foreach (var place in path.Places.DefaultIfEmpty())
            {
                table.Row(
                    first ? Formats.Path(path.Src, path.Dst) : "",
                    first ? Formats.Count(path.Probes) : "",
                    first ? Formats.Count(path.Lost) : "",
                    first ? Formats.Percent(path.Rate) : "",
                    place is null ? Formats.Missing : place.Segment,
                    place is null || place.Leg.Length == 0 ? Formats.Missing : place.Leg,
                    place is null || place.After.Length == 0 ? Formats.Missing : place.After,
                    place is null ? "" : Formats.Count(place.Lost),
                    place is null ? "" : Formats.Percent(place.Rate));
                first = false;
            }
        }

        return table;
    }
}
