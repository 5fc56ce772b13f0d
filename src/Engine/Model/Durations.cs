using System.Globalization;
using HopCapture.Engine.Direction;

namespace HopCapture.Engine.Model;

/// <summary>How durations read in tables and verdicts: engineers think in ms and µs.</summary>
public static class Durations
{
    public static string Format(long nanoseconds)
    {
        var abs = Math.Abs(nanoseconds);
        return abs switch
        {
            >= 1_000_000_000 => (nanoseconds / 1e9).ToString("0.000", CultureInfo.InvariantCulture) + " s",
            >= 1_000_000 => (nanoseconds / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " ms",
            _ => (nanoseconds / 1e6).ToString("0.000", CultureInfo.InvariantCulture) + " ms",
        };
    }

    /// <summary>
    /// The verdict with the leg that held the delay: "fabric, reply leg, 120.19 ms ± 0.012 ms";
    /// when the clock offset is not known well enough, the round-trip cost and saying so.
    /// </summary>
    public static string VerdictText(string kind, long costNs, LegSplit split) => split.Leg switch
    {
        SegmentLeg.Request => $"{kind}, request leg, {Format(split.RequestNs)} ± {Format(split.UncertaintyNs)}",
        SegmentLeg.Reply => $"{kind}, reply leg, {Format(split.ReplyNs)} ± {Format(split.UncertaintyNs)}",
        SegmentLeg.Both => $"{kind}, both legs, {Format(costNs)} (request {Format(split.RequestNs)}, reply {Format(split.ReplyNs)} ± {Format(split.UncertaintyNs)})",
        _ => $"{kind}, {Format(costNs)}, leg unknown (clock offset not yet known)",
    };

    public static string VerdictText(string kind, long costNs, bool withinNoise) =>
        withinNoise ? $"no segment above noise (largest: {kind}, {Format(costNs)})" : $"{kind}, {Format(costNs)}";
}
