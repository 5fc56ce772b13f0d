using System.Globalization;
using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture incidents</c> and <c>capture incident show</c>: what was blamed, and which traffic filled the link.</summary>
public static class IncidentsView
{
    /// <summary>Sparkline width: a 12 s window at 100 ms buckets fits at ~2 buckets per column.</summary>
    public const int TimelineColumns = 60;

    public static IRenderable List(ListIncidentsResponse response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Incidents.Count == 0)
        {
            return Tables.Line("no incidents in this window");
        }

        var table = Tables.Create("id", "opened", "reason", "verdict", "top talker");
        foreach (var incident in response.Incidents)
        {
            table.Row(
                incident.Id.ToString(CultureInfo.InvariantCulture),
                Formats.Ago(incident.OpenedNs, now),
                incident.Reason,
                incident.Verdict,
                incident.TopTalkers.Count == 0 ? Formats.Missing : Talker(incident.TopTalkers[0]));
        }

        return new Rows(table, Tables.Line($"{response.Incidents.Count} incidents ('capture incident show ID' for the traffic)"));
    }

    public static IRenderable Show(IncidentRecord incident, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(incident);
        var rows = new List<IRenderable>
        {
            Tables.Bold($"incident {incident.Id}: {incident.Verdict}"),
            Tables.Line($"opened {Formats.DateTime(incident.OpenedNs)} ({incident.Reason}); path {Formats.Path(incident.Src, incident.Dst)}"),
            Tables.Line($"spike {Formats.Time(incident.SpikeFromNs, today)} – {Formats.Time(incident.SpikeToNs, today)}; traffic window {Formats.Time(incident.WindowFromNs, today)} – {Formats.Time(incident.WindowToNs, today)}"),
        };

        rows.AddRange(CausesView.Lines($"why (host evidence of {string.Join(", ", incident.Hosts)}):", incident.Hints));
        rows.Add(Tables.Blank());
        rows.Add(Tables.Bold("worst probes"));
        var probes = Tables.Create(">id", "time", ">rtt", ">segment cost", "seq");
        foreach (var probe in incident.WorstProbes)
        {
            probes.Row(
                probe.Id.ToString(CultureInfo.InvariantCulture),
                Formats.Time(probe.FirstTsNs, today),
                probe.Lost ? "lost" : Formats.Duration(probe.RttNs),
                probe.Lost ? Formats.Missing : Formats.Duration(probe.CostNs),
                probe.IcmpSeq.ToString(CultureInfo.InvariantCulture));
        }

        rows.Add(probes);
        rows.Add(Tables.Blank());
        rows.Add(Tables.Bold("top talkers"));
        rows.Add(incident.TopTalkers.Count == 0 ? Tables.Line("no flows accounted (see problems below)") : TalkerTable(incident.TopTalkers));
        foreach (var bond in incident.Bonds)
        {
            rows.Add(Tables.Line(Bond(bond)));
        }

        foreach (var link in incident.Links)
        {
            rows.Add(Tables.Line(Link(link)));
        }

        rows.Add(Tables.Blank());
        rows.Add(Tables.Bold("throughput (each line scaled to its own peak; ^ = the slow probes)"));
        rows.AddRange(Timeline(incident.Windows, incident.SpikeFromNs, incident.SpikeToNs));
        if (incident.Problems.Count > 0)
        {
            rows.Add(Tables.Blank());
            rows.Add(Tables.Bold("problems"));
            rows.AddRange(incident.Problems.Select(p => Tables.Line("  " + p)));
        }

        return new Rows(rows);
    }

    /// <summary>Two lines per interface and direction with traffic: the sparkline with its peak, then the spike marker.</summary>
    public static IEnumerable<IRenderable> Timeline(IEnumerable<TrafficWindow> windows, long spikeFromNs, long spikeToNs)
    {
        ArgumentNullException.ThrowIfNull(windows);
        foreach (var window in windows.Where(w => w.Error.Length == 0))
        {
            foreach (var inbound in new[] { true, false })
            {
                if ((inbound ? window.InBytes : window.OutBytes) == 0)
                {
                    continue;
                }

                var series = TrafficText.Series(window, inbound, TimelineColumns);
                var label = $"{window.Node}/{window.Iface} {(inbound ? "in " : "out")}";
                yield return Tables.Line($"{label,-20} |{TrafficText.Sparkline(series)}| peak {TrafficText.Mbps(series.Max())}");
                if (spikeFromNs != 0)
                {
                    yield return Tables.Line($"{"",-20}  {TrafficText.Marker(window, spikeFromNs, spikeToNs, TimelineColumns)}");
                }
            }
        }
    }

    public static Table TalkerTable(IEnumerable<TalkerShare> talkers)
    {
        ArgumentNullException.ThrowIfNull(talkers);
        var table = Tables.Create("where", "dir", "flow", ">bytes", ">packets", ">share");
        foreach (var talker in talkers)
        {
            table.Row(
                $"{talker.Node}/{talker.Iface}",
                TrafficText.Direction(talker.Flow.Direction),
                TrafficText.Flow(talker.Flow),
                TrafficText.Bytes(talker.Flow.Bytes),
                Formats.Count(talker.Flow.Packets),
                Formats.Percent(talker.Share));
        }

        return table;
    }

    public static string Talker(TalkerShare talker)
    {
        ArgumentNullException.ThrowIfNull(talker);
        return $"{TrafficText.Flow(talker.Flow)} {Formats.Percent(talker.Share)} of {talker.Node}/{talker.Iface} {TrafficText.Direction(talker.Flow.Direction)}";
    }

    public static string Bond(BondShare bond)
    {
        ArgumentNullException.ThrowIfNull(bond);
        var shares = string.Join(", ", bond.Slaves.Select(s => $"{s.Iface} {Formats.Percent(s.Share)} ({TrafficText.Bytes(s.Bytes)})"));
        var flag = bond.Imbalanced ? $" — IMBALANCED: {bond.HeavySlave} carries most of it" : " — balanced";
        return $"bond {bond.Node}/{bond.Point}: {shares}{flag}";
    }

    public static string Link(LinkLoad link)
    {
        ArgumentNullException.ThrowIfNull(link);
        var state = link.SpeedMbps <= 0 ? "line rate unknown (the link reports no speed)"
            : link.NearLineRate ? $"NEAR LINE RATE ({Formats.Percent(link.PeakMbps / link.SpeedMbps)} of {TrafficText.Speed(link.SpeedMbps)})"
            : $"{Formats.Percent(link.PeakMbps / link.SpeedMbps)} of {TrafficText.Speed(link.SpeedMbps)}";
        return $"link {link.Node}/{link.Iface}: peak {TrafficText.Mbps(link.PeakMbps)}, mean {TrafficText.Mbps(link.MeanMbps)}; {state}";
    }
}
