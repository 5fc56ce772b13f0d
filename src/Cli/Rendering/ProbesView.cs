using System.Globalization;
using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture probes</c>: individual probes with their verdict, newest or slowest first.</summary>
public static class ProbesView
{
    public static IRenderable Build(ListProbesResponse response, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(response);
        var footer = Tables.Line($"{response.Probes.Count} of {Formats.Count(response.Matched)} matching");
        if (response.Probes.Count == 0)
        {
            return footer;
        }

        var table = Tables.Create(Headers);
        foreach (var probe in response.Probes)
        {
            table.Row(Cells(probe, today));
        }

        return new Rows(table, footer);
    }

    /// <summary>The columns of a probe row; a leading '>' marks a right-aligned one (<see cref="Tables.Create"/>).</summary>
    public static readonly string[] Headers = ["id", "time (UTC)", "src → dst", "id/seq", ">RTT", "verdict", "lost in"];

    /// <summary>One probe's row, in the order of <see cref="Headers"/>: the bounded table's and the streamed export's.</summary>
    public static string[] Cells(ProbeRecord probe, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(probe);
        return
        [
            probe.Id.ToString(CultureInfo.InvariantCulture),
            Formats.Time(probe.FirstTsNs, today),
            PathText(probe),
            $"{probe.Key?.IcmpId ?? 0}/{probe.Key?.IcmpSeq ?? 0}",
            probe.Answered ? Formats.Duration(probe.RttNs) : "lost",
            VerdictText(probe),
            LostIn(probe),
        ];
    }

    /// <summary>
    /// src → dst with the VMs the capture points name (issue 10): the sender's VM is the first
    /// point's, the receiver's the last point's when that is another VM. Points, not addresses,
    /// so a hypervisor's vif names its VM without an agent in the guest.
    /// </summary>
    public static string PathText(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var points = probe.Points;
        var srcVm = points.Count > 0 ? points[0].Vm : "";
        var dstVm = points.Count > 1 && points[^1].Vm != srcVm ? points[^1].Vm : "";
        return Formats.Path(Formats.Labeled(probe.Src, srcVm), Formats.Labeled(probe.Dst, dstVm));
    }

    public static string VerdictText(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (probe.Verdict is { Text.Length: > 0 } verdict)
        {
            return verdict.Text;
        }

        return probe.Answered ? Formats.Missing : $"lost in {probe.LostIn}";
    }

    public static string LostIn(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (probe.Answered || string.IsNullOrEmpty(probe.LostIn))
        {
            return "";
        }

        return string.IsNullOrEmpty(probe.LostLeg) ? probe.LostIn : $"{probe.LostIn} ({probe.LostLeg})";
    }
}
