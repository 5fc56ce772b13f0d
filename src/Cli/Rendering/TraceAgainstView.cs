using System.Globalization;
using HopCapture.Protos;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// <c>capture trace --against FREEZE_ID</c>: field report 000's "fix, then re-test" as one
/// screen, the freeze before the fix and the trace after it side by side.
/// </summary>
public static class TraceAgainstView
{
    public static IRenderable Build(TraceAgainstFreeze comparison, string freezeId, DateOnly today)
    {
        ArgumentNullException.ThrowIfNull(comparison);
        var before = comparison.Before;
        var after = comparison.After;
        var table = Tables.Create("", $"before: freeze {freezeId}", "after: this trace");
        table.Row("when", $"{Formats.Time(before.StartNs, today)}, {Formats.Path(before.Src, before.Dst)}", $"{after.Sent} probes {Formats.Path(after.Src, after.Dst)}");
        table.Row("lost", $"{before.Lost} in a row (seq {before.FirstSeq}→{before.LastSeq})",
            string.Create(CultureInfo.InvariantCulture, $"{after.Lost} of {after.Sent} ({Formats.Percent(after.Loss)})"));
        table.Row("longest gap", Formats.Duration(before.DurationNs),
            after.Jumps.Count == 0 ? "none" : $"{after.Jumps.Max(j => j.Missing)} probes, {after.Jumps.Count} jump(s)");
        table.Row("where", before.Leg.Length == 0 ? before.Segment : $"{before.Segment} ({before.Leg} leg) after {before.After}", after.Verdict);
        table.Row("host cause", string.Join("; ", before.Hints.Select(h => h.Cause == "none" ? "none found" : $"{h.Cause} on {h.Node}/{h.Device}")), "—");
        table.Row("result", "froze", after.Passed ? "PASS" : "FAIL: " + string.Join("; ", after.Failures));
        return table;
    }
}
