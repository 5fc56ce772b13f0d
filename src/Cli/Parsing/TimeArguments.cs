using System.Globalization;
using System.Text.RegularExpressions;

namespace HopCapture.Cli.Parsing;

/// <summary>
/// Parses the time-ish flags engineers type: relative ages (<c>10m</c> = ten minutes ago),
/// RFC 3339 / ISO 8601 timestamps (nanosecond fractions kept), and durations with units.
/// Every error message names the flag so a typo in a long command line is easy to find.
/// </summary>
public static partial class TimeArguments
{
    private const string AgeHint = "a duration ago (30s, 10m, 2h, 1d) or a time (RFC 3339, e.g. 2025-01-31T19:53:08Z)";
    private const string DurationHint = "a duration with a unit (500us, 20ms, 1.5s, 10m)";

    private static readonly DateTimeOffset UnixEpoch = DateTimeOffset.UnixEpoch;

    /// <summary>
    /// A time bound as unix ns: <paramref name="text"/> is either an age relative to
    /// <paramref name="now"/> or an absolute timestamp (no offset = UTC).
    /// </summary>
    public static bool TryParseTimeBound(string flag, string text, DateTimeOffset now, out long unixNs, out string error)
    {
        var trimmed = text.Trim();
        if (trimmed.Equals("now", StringComparison.OrdinalIgnoreCase))
        {
            unixNs = ToUnixNs(now);
            error = "";
            return true;
        }

        if (TryParseDurationNs(trimmed, out var ageNs))
        {
            unixNs = ToUnixNs(now) - ageNs;
            error = "";
            return true;
        }

        if (TryParseTimestampNs(trimmed, out unixNs))
        {
            error = "";
            return true;
        }

        unixNs = 0;
        error = $"{flag}: '{text}' is not {AgeHint}";
        return false;
    }

    /// <summary>A non-negative duration in ns, e.g. <c>--min-rtt 20ms</c> or <c>--duration 30s</c>.</summary>
    public static bool TryParseDuration(string flag, string text, out long nanoseconds, out string error)
    {
        if (TryParseDurationNs(text.Trim(), out nanoseconds))
        {
            error = "";
            return true;
        }

        error = decimal.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out _)
            ? $"{flag}: '{text}' needs a unit, e.g. {text.Trim()}ms; units are ns, us, ms, s, m, h, d"
            : $"{flag}: '{text}' is not {DurationHint}";
        return false;
    }

    public static long ToUnixNs(DateTimeOffset time) => (time.UtcTicks - UnixEpoch.UtcTicks) * 100;

    public static DateTimeOffset FromUnixNs(long unixNs) => UnixEpoch.AddTicks(unixNs / 100);

    private static bool TryParseDurationNs(string text, out long nanoseconds)
    {
        nanoseconds = 0;
        var match = DurationPattern().Match(text);
        if (!match.Success
            || !decimal.TryParse(match.Groups["value"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value))
        {
            return false;
        }

        decimal unitNs = match.Groups["unit"].Value switch
        {
            "ns" => 1m,
            "us" or "µs" or "μs" => 1_000m,
            "ms" => 1_000_000m,
            "s" => 1_000_000_000m,
            "m" => 60m * 1_000_000_000m,
            "h" => 3_600m * 1_000_000_000m,
            "d" => 86_400m * 1_000_000_000m,
            _ => 0m,
        };
        var total = decimal.Round(value * unitNs, MidpointRounding.AwayFromZero);
        if (unitNs == 0m || total > long.MaxValue / 2)
        {
            return false;
        }

        nanoseconds = (long)total;
        return true;
    }

    private static bool TryParseTimestampNs(string text, out long unixNs)
    {
        unixNs = 0;

        // DateTimeOffset stops at 7 fractional digits (100 ns ticks); RFC 3339 allows any
        // number, and probe timestamps are ns, so split the fraction off and add it back exactly.
        var match = FractionPattern().Match(text);
        var fractionNs = 0L;
        var withoutFraction = text;
        if (match.Success)
        {
            var digits = match.Groups["fraction"].Value;
            if (digits.Length > 9)
            {
                digits = digits[..9];
            }

            fractionNs = long.Parse(digits.PadRight(9, '0'), CultureInfo.InvariantCulture);
            withoutFraction = text.Remove(match.Index, match.Length);
        }

        // A bare number would otherwise parse as some odd date; insist on a date or a clock time.
        if (!withoutFraction.Contains('-', StringComparison.Ordinal) && !withoutFraction.Contains(':', StringComparison.Ordinal))
        {
            return false;
        }

        if (!DateTimeOffset.TryParse(
                withoutFraction,
                CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal | DateTimeStyles.AllowWhiteSpaces,
                out var parsed))
        {
            return false;
        }

        unixNs = ToUnixNs(parsed) + fractionNs;
        return true;
    }

    [GeneratedRegex(@"^(?<value>\d+(\.\d+)?)\s*(?<unit>ns|us|µs|μs|ms|s|m|h|d)$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"(?<=:\d{2})\.(?<fraction>\d+)", RegexOptions.CultureInvariant)]
    private static partial Regex FractionPattern();
}
