using System.Globalization;
using HopCapture.Engine.Direction;

namespace HopCapture.Engine.Model;

/// <summary>How durations read in tables and verdicts: engineers think in ms and µs.</summary>
public static class Durations
{
    // Room for a verdict's fixed words and four durations; the segment kind comes on top.
    private const int VerdictRoom = 256;
    private const int StackChars = 512;

    public static string Format(long nanoseconds) => new Duration(nanoseconds).ToString(null, CultureInfo.InvariantCulture);

    /// <summary>
    /// The verdict with the leg that held the delay: "fabric, reply leg, 120.19 ms ± 0.012 ms";
    /// when the clock offset is not known well enough, the round-trip cost and saying so.
    /// </summary>
    public static string VerdictText(string kind, long costNs, LegSplit split)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var room = kind.Length + VerdictRoom;
        var text = room <= StackChars ? stackalloc char[room] : new char[room];
        return new string(text[..Write(text, kind, costNs, split)]);
    }

    public static string VerdictText(string kind, long costNs, bool withinNoise)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var room = kind.Length + VerdictRoom;
        var text = room <= StackChars ? stackalloc char[room] : new char[room];
        return new string(text[..Write(text, kind, costNs, withinNoise)]);
    }

    /// <summary>
    /// Whether <paramref name="text"/> is exactly <see cref="VerdictText(string, long, LegSplit)"/>'s
    /// wording, decided without making the string (the store asks it for every probe it writes).
    /// </summary>
    public static bool IsVerdictText(ReadOnlySpan<char> text, string kind, long costNs, LegSplit split)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var wording = text.Length <= StackChars ? stackalloc char[text.Length] : new char[text.Length];
        return TryWrite(wording, kind, costNs, split, out var written) && written == text.Length && text.SequenceEqual(wording);
    }

    /// <summary>Whether <paramref name="text"/> is exactly <see cref="VerdictText(string, long, bool)"/>'s wording.</summary>
    public static bool IsVerdictText(ReadOnlySpan<char> text, string kind, long costNs, bool withinNoise)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var wording = text.Length <= StackChars ? stackalloc char[text.Length] : new char[text.Length];
        return TryWrite(wording, kind, costNs, withinNoise, out var written) && written == text.Length && text.SequenceEqual(wording);
    }

    private static int Write(Span<char> text, string kind, long costNs, LegSplit split) =>
        TryWrite(text, kind, costNs, split, out var written) ? written : throw new InvalidOperationException("verdict text longer than its room");

    private static int Write(Span<char> text, string kind, long costNs, bool withinNoise) =>
        TryWrite(text, kind, costNs, withinNoise, out var written) ? written : throw new InvalidOperationException("verdict text longer than its room");

    private static bool TryWrite(Span<char> text, string kind, long costNs, LegSplit split, out int written)
    {
        var culture = CultureInfo.InvariantCulture;
        return split.Leg switch
        {
            SegmentLeg.Request => text.TryWrite(culture, $"{kind}, request leg, {new Duration(split.RequestNs)} ± {new Duration(split.UncertaintyNs)}", out written),
            SegmentLeg.Reply => text.TryWrite(culture, $"{kind}, reply leg, {new Duration(split.ReplyNs)} ± {new Duration(split.UncertaintyNs)}", out written),
            SegmentLeg.Both => text.TryWrite(culture,
                $"{kind}, both legs, {new Duration(costNs)} (request {new Duration(split.RequestNs)}, reply {new Duration(split.ReplyNs)} ± {new Duration(split.UncertaintyNs)})", out written),
            _ => text.TryWrite(culture, $"{kind}, {new Duration(costNs)}, leg unknown (clock offset not yet known)", out written),
        };
    }

    private static bool TryWrite(Span<char> text, string kind, long costNs, bool withinNoise, out int written) => withinNoise
        ? text.TryWrite(CultureInfo.InvariantCulture, $"no segment above noise (largest: {kind}, {new Duration(costNs)})", out written)
        : text.TryWrite(CultureInfo.InvariantCulture, $"{kind}, {new Duration(costNs)}", out written);

    /// <summary>A duration as it reads ("1.234 s", "12.35 ms", "0.012 ms"), written into a span so a verdict needs no string per number.</summary>
    private readonly struct Duration(long nanoseconds) : ISpanFormattable
    {
        private const long ExactBelow = 1_000_000_000_000_000;

        public bool TryFormat(Span<char> destination, out int charsWritten, ReadOnlySpan<char> format, IFormatProvider? provider)
        {
            var culture = CultureInfo.InvariantCulture;
            if (nanoseconds is >= 0 and < ExactBelow)
            {
                // The same text in integers: ns / 10^k with ns below 10^15 has at most 15
                // significant digits, which the double keeps and .NET's custom formats give back
                // (15 digits, then rounded half away from zero at the last decimal shown), so
                // rounding ns half up to the last decimal's step is what the double path prints.
                var (step, decimals, unit) = nanoseconds switch
                {
                    >= 1_000_000_000 => (1_000_000L, 3, " s"),
                    >= 1_000_000 => (10_000L, 2, " ms"),
                    _ => (1_000L, 3, " ms"),
                };
                var rounded = (nanoseconds + (step / 2)) / step;
                var scale = decimals == 3 ? 1000 : 100;
                return decimals == 3
                    ? destination.TryWrite(culture, $"{rounded / scale}.{rounded % scale:D3}{unit}", out charsWritten)
                    : destination.TryWrite(culture, $"{rounded / scale}.{rounded % scale:D2}{unit}", out charsWritten);
            }

            return Math.Abs(nanoseconds) switch
            {
                >= 1_000_000_000 => destination.TryWrite(culture, $"{nanoseconds / 1e9:0.000} s", out charsWritten),
                >= 1_000_000 => destination.TryWrite(culture, $"{nanoseconds / 1e6:0.00} ms", out charsWritten),
                _ => destination.TryWrite(culture, $"{nanoseconds / 1e6:0.000} ms", out charsWritten),
            };
        }

        public string ToString(string? format, IFormatProvider? formatProvider)
        {
            Span<char> text = stackalloc char[64];
            return TryFormat(text, out var written, format, formatProvider) ? new string(text[..written]) : throw new InvalidOperationException("duration longer than its room");
        }
    }
}
