using HopCapture.Protos;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// Cause hints (issue 15) under a freeze or a lost probe: the cause, the device, what the host
/// evidence showed and the usual fix; the evidence itself is in <c>--json</c> and <c>capture host</c>.
/// </summary>
public static class CausesView
{
    public static IEnumerable<IRenderable> Lines(string title, IEnumerable<CauseHint> hints)
    {
        ArgumentNullException.ThrowIfNull(hints);
        var list = hints.ToList();
        if (list.Count == 0)
        {
            yield break;
        }

        yield return Tables.Line(title);
        foreach (var hint in list)
        {
            yield return Tables.Line(hint.Cause == "none"
                ? $"  no host cause: {hint.Summary}"
                : $"  {hint.Cause} on {hint.Node}/{hint.Device}: {hint.Summary}");
            if (hint.Fix.Length > 0)
            {
                yield return Tables.Line($"    fix: {hint.Fix}");
            }
        }
    }
}
