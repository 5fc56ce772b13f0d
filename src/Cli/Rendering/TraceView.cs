using System.Globalization;
using HopCapture.Cli.Commands;
using HopCapture.Protos;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture trace</c>: field report 000's verification on one screen.</summary>
public static class TraceView
{
    public static string ProgressLine(TraceRunRequest request, TraceProgress progress)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(progress);
        var last = progress.LastRttNs > 0 ? $", last {Formats.Duration(progress.LastRttNs)}" : "";
        return $"trace {request.From} {Formats.Arrow} {request.To}: {progress.Sent}/{progress.Count} sent, " +
               $"{progress.Received} received, {progress.Lost} lost{last}";
    }

    public static IRenderable Build(TraceReport report, TraceCriteria criteria)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(criteria);
        var parts = new List<IRenderable>
        {
            Tables.Bold($"trace {report.From} {Formats.Arrow} {report.To} ({Formats.Path(report.Src, report.Dst)}), icmp id {report.IcmpId}, {report.Count} probes"),
            Tables.Line($"{report.Sent} sent, {report.Received} received, {report.Lost} lost ({Formats.Percent(report.Loss)})"),
        };
        if (report.Jumps.Count == 0)
        {
            parts.Add(Tables.Line("icmp_seq jumps: none"));
        }
        else
        {
            parts.Add(Tables.Line($"icmp_seq jumps: {report.Jumps.Count}"));
            foreach (var jump in report.Jumps)
            {
                var to = jump.ToSeq > report.Sent ? "end" : jump.ToSeq.ToString(CultureInfo.InvariantCulture);
                var from = jump.FromSeq == 0 ? "start" : jump.FromSeq.ToString(CultureInfo.InvariantCulture);
                parts.Add(Tables.Line($"  {from} {Formats.Arrow} {to}   ({jump.Missing} lost)"));
            }
        }

        if (report.Received > 0)
        {
            parts.Add(Tables.Line($"round trip p50 {Formats.Duration(report.RttP50Ns)}, p99 {Formats.Duration(report.RttP99Ns)}, " +
                                  $"max {Formats.Duration(report.RttMaxNs)} (probe {report.WorstProbeId.ToString(CultureInfo.InvariantCulture)})"));
        }

        if (report.Segments.Count > 0)
        {
            var table = Tables.Create("from → to", "kind", ">probes", ">p50", ">p99", ">max");
            foreach (var segment in report.Segments)
            {
                table.Row($"{segment.From} {Formats.Arrow} {segment.To}", segment.Kind, segment.Samples.ToString(CultureInfo.InvariantCulture),
                    Formats.Duration(segment.P50Ns), Formats.Duration(segment.P99Ns), Formats.Duration(segment.MaxNs));
            }

            parts.Add(table);
        }

        parts.Add(Tables.Line($"verdict: {report.Verdict}"));
        parts.Add(Tables.Line($"criteria: {criteria.Describe()}"));
        parts.Add(report.Passed
            ? new Text("PASS", new Style(Color.Green, decoration: Decoration.Bold))
            : new Text("FAIL: " + string.Join("; ", report.Failures), new Style(Color.Red, decoration: Decoration.Bold)));
        return new Rows(parts);
    }
}
