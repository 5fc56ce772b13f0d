using System.Globalization;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Engine;

/// <summary>
/// Durations are written without formatting doubles (the store decides per probe whether a
/// verdict text is the engine's wording): the text must be exactly what formatting the double
/// gives, including at every rounding edge.
/// </summary>
public sealed class DurationsTests
{
    [Test]
    public void Format_RoundingEdgesAndRandomValues_SameAsFormattingTheDouble()
    {
        var values = new List<long> { 0, 1, 499, 500, 501, 999_499, 999_500, 999_999, 1_000_000, 999_995_000, 999_999_999, 1_000_000_000, long.MaxValue, long.MinValue + 1, -1, -500, -1_500_000, -2_000_000_000 };
        foreach (var step in new[] { 1_000L, 10_000L, 1_000_000L })
        {
            for (long magnitude = step; magnitude < 1_000_000_000_000_000; magnitude *= 10)
            {
                foreach (var digits in new long[] { 1, 3, 7, 12, 99, 123, 4_567 })
                {
                    var edge = (magnitude * digits) + (step / 2);
                    values.AddRange([edge - 1, edge, edge + 1]);
                }
            }
        }

        var random = new Random(12);
        for (var i = 0; i < 200_000; i++)
        {
            values.Add(random.NextInt64(0, 1L << (random.Next(1, 51))));
        }

        var wrong = values.Where(v => Durations.Format(v) != FormattedAsDouble(v)).Take(5).Select(v => $"{v}: {Durations.Format(v)} vs {FormattedAsDouble(v)}").ToList();

        Assert.That(wrong, Is.Empty);
    }

    [Test]
    public void IsVerdictText_EngineWordingAndNearMisses_ExactlyTheWording()
    {
        var split = new LegSplit(SegmentLeg.Both, 120_004_999, 5_000, 12_345, 0, false);
        var text = Durations.VerdictText("fabric", 120_009_999, split);

        Assert.Multiple(() =>
        {
            Assert.That(text, Is.EqualTo("fabric, both legs, 120.01 ms (request 120.00 ms, reply 0.005 ms ± 0.012 ms)"));
            Assert.That(Durations.IsVerdictText(text, "fabric", 120_009_999, split), Is.True);
            Assert.That(Durations.IsVerdictText(text + " ", "fabric", 120_009_999, split), Is.False);
            Assert.That(Durations.IsVerdictText(text.AsSpan(0, text.Length - 1), "fabric", 120_009_999, split), Is.False);
            Assert.That(Durations.IsVerdictText(text, "fabric", 120_015_000, split), Is.False);
            Assert.That(Durations.IsVerdictText("nic, 1.00 ms", "nic", 1_000_000, withinNoise: false), Is.True);
            Assert.That(Durations.IsVerdictText("nic, 1.00 ms", "nic", 1_000_000, withinNoise: true), Is.False);
        });
    }

    /// <summary>How durations were written before (the oracle).</summary>
    private static string FormattedAsDouble(long nanoseconds) => Math.Abs(nanoseconds) switch
    {
        >= 1_000_000_000 => (nanoseconds / 1e9).ToString("0.000", CultureInfo.InvariantCulture) + " s",
        >= 1_000_000 => (nanoseconds / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " ms",
        _ => (nanoseconds / 1e6).ToString("0.000", CultureInfo.InvariantCulture) + " ms",
    };
}
