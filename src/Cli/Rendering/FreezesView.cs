using System.Globalization;
using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// <c>capture freezes</c>: what field report 000's awk script printed (every icmp_seq jump) plus
/// when, for how long and where, then one line per ping run whose freezes recur.
/// </summary>
public static class FreezesView
{
    public static IRenderable Build(ListFreezesResponse response, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Freezes.Count == 0)
        {
            return Tables.Line("no freezes in this time window");
        }

        var table = Tables.Create("src → dst", "id", "seq", "start (UTC)", ">duration", ">lost", "where", "after");
        foreach (var freeze in response.Freezes)
        {
            table.Row(
                Formats.Path(freeze.Src, freeze.Dst),
                freeze.IcmpId.ToString(CultureInfo.InvariantCulture),
                $"{freeze.FirstSeq}→{freeze.LastSeq}",
                Formats.Time(freeze.StartNs, today),
                Formats.Duration(freeze.DurationNs) + (freeze.Ongoing ? "+" : ""),
                freeze.Silence ? "0 (silence)" : Lost(freeze),
                Where(freeze),
                freeze.After.Length == 0 ? Formats.Missing : freeze.After);
        }

        var parts = new List<IRenderable> { table };
        foreach (var series in response.Series)
        {
            parts.Add(Tables.Line(SeriesLine(series)));
        }

        foreach (var freeze in response.Freezes.Where(f => f.Hints.Count > 0))
        {
            parts.AddRange(CausesView.Lines(
                $"why {freeze.IcmpId}/{freeze.FirstSeq}→{freeze.LastSeq} froze (host evidence of {string.Join(", ", freeze.Hosts)}):", freeze.Hints));
        }

        return new Rows(parts);
    }

    public static string SeriesLine(FreezeSeries series)
    {
        ArgumentNullException.ThrowIfNull(series);
        var head = $"{Formats.Path(series.Src, series.Dst)} id {series.IcmpId}: {series.Freezes} freezes, ~{series.MeanLost.ToString("0", CultureInfo.InvariantCulture)} lost each";
        return series.Periodic
            ? $"{head}, every {Formats.Duration(series.PeriodNs)} ± {Formats.Duration(series.SpreadNs)} (periodic), in {series.Segment}"
            : $"{head}, not periodic, in {series.Segment}";
    }

    private static string Lost(FreezeInfo freeze) =>
        freeze.Unseen > 0 ? $"{freeze.Lost} ({freeze.Unseen} unseen)" : freeze.Lost.ToString(CultureInfo.InvariantCulture);

    private static string Where(FreezeInfo freeze)
    {
        if (freeze.Silence)
        {
            return "sender silent";
        }

        return freeze.Leg.Length == 0 ? freeze.Segment : $"{freeze.Segment} ({freeze.Leg} leg)";
    }
}
