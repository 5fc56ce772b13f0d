using System.Globalization;
using HopCapture.Protos;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture host</c>: one node's host evidence, oldest first, one change per row.</summary>
public static class HostView
{
    public static IRenderable Build(ListHostEvidenceResponse response, string node, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Evidence.Count == 0)
        {
            return Tables.Line($"no host evidence of {node} in this time window");
        }

        var table = Tables.Create("time (UTC)", "device", "kind", "what", "change", "carries");
        foreach (var e in response.Evidence)
        {
            table.Row(Formats.Time(e.TsNs, today), e.Device, e.Kind, e.Name, Change(e), string.Join(",", e.Points));
        }

        var parts = new List<IRenderable> { table };
        if (response.Truncated)
        {
            parts.Add(Tables.Line($"only the newest {response.Evidence.Count} changes shown: narrow --since/--until or raise --limit"));
        }

        return new Spectre.Console.Rows(parts);
    }

    public static string Change(HostEvidence evidence)
    {
        ArgumentNullException.ThrowIfNull(evidence);
        if (evidence.Kind == "kernel")
        {
            return evidence.Value;
        }

        if (evidence.Delta > 0)
        {
            return string.Create(CultureInfo.InvariantCulture, $"+{evidence.Delta} (now {evidence.Value})");
        }

        var change = evidence.Previous.Length == 0 ? $"{evidence.Value} (first sample)" : $"{evidence.Previous} → {evidence.Value}";
        return evidence.Bridge.Length > 0 && evidence.Kind == "port_state" ? $"{change} on {evidence.Bridge}" : change;
    }
}
