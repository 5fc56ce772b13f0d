using System.Globalization;
using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// <c>capture explain</c>: the table the engineer in field report 003 built by hand — every
/// point's request/reply timestamps (each on its own node's clock) and round trip, then what each
/// segment between consecutive points cost, then the verdict.
/// </summary>
public static class ExplainView
{
    public static IRenderable Build(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var parts = new List<IRenderable> { Tables.Line(Header(probe)), Tables.Blank() };

        var points = Tables.Create("#", "node", "iface", "role", "request ts", "reply ts", ">round trip");
        for (var i = 0; i < probe.Points.Count; i++)
        {
            var point = probe.Points[i];
            points.Row(
                (i + 1).ToString(CultureInfo.InvariantCulture),
                point.Node,
                Formats.Labeled(Iface(point), point.Vm),
                Formats.Role(point.Role),
                point.HasRequest ? Formats.ClockTime(point.RequestTsNs) : Formats.Missing,
                point.HasReply ? Formats.ClockTime(point.ReplyTsNs) : Formats.Missing,
                point.HasRequest && point.HasReply ? Formats.Millis(point.RoundTripNs) : Formats.Missing);
        }

        parts.Add(probe.Points.Count == 0 ? Tables.Line("no observation point saw this probe") : points);

        if (probe.Segments.Count > 0)
        {
            var segments = Tables.Create("from → to", "kind", ">round-trip cost", ">share of total", ">request leg", ">reply leg", "note");
            for (var i = 0; i < probe.Segments.Count; i++)
            {
                var segment = probe.Segments[i];
                segments.Row(
                    $"{PointName(probe, segment.FromPoint)} {Formats.Arrow} {(segment.ToPoint < 0 ? "remote turnaround" : PointName(probe, segment.ToPoint))}",
                    segment.Kind,
                    Formats.Millis(segment.CostNs),
                    probe.RttNs > 0 ? Formats.Percent((double)segment.CostNs / probe.RttNs) : Formats.Missing,
                    LegCell(segment, segment.RequestNs),
                    LegCell(segment, segment.ReplyNs),
                    Note(probe, segment, i));
            }

            parts.Add(segments);
        }

        foreach (var line in BondLines(probe))
        {
            parts.Add(Tables.Line(line));
        }

        if (probe.Segments.Any(s => s.Leg == "unknown"))
        {
            parts.Add(Tables.Line("legs marked ? : the clock offset across that segment is not known well enough yet to split it"));
        }

        parts.Add(Tables.Bold(VerdictLine(probe)));
        parts.AddRange(CausesView.Lines("why (host evidence of the segment's interfaces around it):", probe.Hints));
        return new Rows(parts);
    }

    public static string Header(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var header = $"probe {probe.Id}: {ProbesView.PathText(probe)} id {probe.Key?.IcmpId ?? 0} seq {probe.Key?.IcmpSeq ?? 0}";
        if (probe.FirstTsNs != 0)
        {
            header += $", sent {Formats.DateTime(probe.FirstTsNs)}";
        }

        header += probe.Answered ? $", round trip {Formats.Millis(probe.RttNs)}" : ", not answered";
        if (probe.Imported)
        {
            header += " (imported capture)";
        }

        // Timestamps below are raw per-node clocks: say so, or people subtract across hosts.
        return header + "\ntimestamps are each node's own clock; compare round trips, not times across nodes";
    }

    public static string VerdictLine(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (!probe.Answered)
        {
            var kind = string.IsNullOrEmpty(probe.LostIn) ? "an unknown segment" : probe.LostIn;
            var line = $"verdict: lost in {kind}";
            if (!string.IsNullOrEmpty(probe.LostLeg))
            {
                line += $" ({probe.LostLeg} leg)";
            }

            return LastSighting(probe) is { } after ? line + $" after {after}" : line;
        }

        return "verdict: " + ProbesView.VerdictText(probe);
    }

    private static string Iface(ProbePoint point)
    {
        var request = point.RequestIface;
        var reply = point.ReplyIface;
        var iface = (request, reply) switch
        {
            ({ Length: > 0 }, { Length: > 0 }) when request != reply => $"{request}/{reply}",
            ({ Length: > 0 }, _) => request,
            (_, { Length: > 0 }) => reply,
            _ => point.Point,
        };

        // Bond slaves: show the bond too, it is the name the engineer configured.
        return !string.IsNullOrEmpty(point.Point) && point.Point != request && point.Point != reply && point.Point != iface
            ? $"{iface} ({point.Point})"
            : iface;
    }

    private static string PointName(ProbeRecord probe, int index)
    {
        if (index < 0 || index >= probe.Points.Count)
        {
            return $"#{index + 1}";
        }

        var point = probe.Points[index];
        var name = string.IsNullOrEmpty(point.Point) ? (point.RequestIface.Length > 0 ? point.RequestIface : point.ReplyIface) : point.Point;
        return Formats.Labeled($"{point.Node}/{name}", point.Vm);
    }

    /// <summary>One leg's one-way time ± the offset's uncertainty; "?" when unknown, never negative.</summary>
    public static string LegCell(Protos.Segment segment, long legNs)
    {
        ArgumentNullException.ThrowIfNull(segment);
        return segment.Leg switch
        {
            "" => Formats.Missing,
            "unknown" => "?",
            _ => segment.LegUncertaintyNs == 0
                ? Formats.Millis(legNs)
                : $"{Formats.Millis(legNs)} ±{Formats.Millis(segment.LegUncertaintyNs)[..^3]}" + (segment.LegClamped ? " (clamped)" : ""),
        };
    }

    /// <summary>Bonds: which slave carried which leg, since the two legs may hash onto different slaves.</summary>
    public static IEnumerable<string> BondLines(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        foreach (var point in probe.Points)
        {
            var isBond = !string.IsNullOrEmpty(point.Point)
                         && ((point.RequestIface.Length > 0 && point.RequestIface != point.Point)
                             || (point.ReplyIface.Length > 0 && point.ReplyIface != point.Point));
            if (isBond)
            {
                var request = point.HasRequest ? point.RequestIface : "(not seen)";
                var reply = point.HasReply ? point.ReplyIface : "(not seen)";
                yield return $"{point.Node}/{point.Point}: request leg on {request}, reply leg on {reply}";
            }
        }
    }

    private static string Note(ProbeRecord probe, Protos.Segment segment, int index)
    {
        if (segment.WithinNoise)
        {
            return "within noise";
        }

        return probe.Verdict is { } verdict && verdict.Segment == index ? "← verdict" : "";
    }

    /// <summary>
    /// Where the lost packet was seen last. The request travels in path order, so that is the
    /// farthest point that saw it; the reply travels back, so the nearest point that saw it, or
    /// (no reply anywhere) the farthest point the request reached.
    /// </summary>
    private static string? LastSighting(ProbeRecord probe)
    {
        var points = probe.Points;
        int index;
        if (probe.LostLeg == "reply")
        {
            index = -1;
            for (var i = 0; i < points.Count && index < 0; i++)
            {
                if (points[i].HasReply)
                {
                    index = i;
                }
            }

            if (index < 0)
            {
                index = LastWithRequest(points);
            }
        }
        else
        {
            index = LastWithRequest(points);
        }

        return index < 0 ? null : PointName(probe, index);
    }

    private static int LastWithRequest(Google.Protobuf.Collections.RepeatedField<ProbePoint> points)
    {
        for (var i = points.Count - 1; i >= 0; i--)
        {
            if (points[i].HasRequest)
            {
                return i;
            }
        }

        return -1;
    }
}
