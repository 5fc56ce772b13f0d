using System.Globalization;

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

    public static string VerdictText(string kind, long costNs, bool withinNoise) =>
        withinNoise ? $"no segment above noise (largest: {kind}, {Format(costNs)})" : $"{kind}, {Format(costNs)}";
}
