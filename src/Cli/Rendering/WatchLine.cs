using HopCapture.Protos;

namespace HopCapture.Cli.Rendering;

/// <summary><c>capture watch</c>: one greppable line per probe.</summary>
public static class WatchLine
{
    public static string Format(ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var rtt = probe.Answered ? Formats.Duration(probe.RttNs) : "lost";
        var verdict = probe.Answered ? ProbesView.VerdictText(probe) : ExplainView.VerdictLine(probe)["verdict: ".Length..];
        return $"{Formats.ClockTime(probe.FirstTsNs)} {ProbesView.PathText(probe)} seq {probe.Key?.IcmpSeq ?? 0} rtt {rtt} {verdict}";
    }
}
