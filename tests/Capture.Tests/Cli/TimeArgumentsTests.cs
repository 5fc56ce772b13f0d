using HopCapture.Cli.Parsing;

namespace HopCapture.Tests.Cli;

public class TimeArgumentsTests
{
    private static readonly DateTimeOffset Now = new(2025, 1, 31, 12, 0, 0, TimeSpan.Zero);
    private static readonly long NowNs = TimeArguments.ToUnixNs(Now);

    [TestCase("30s", 30_000_000_000L)]
    [TestCase("10m", 600_000_000_000L)]
    [TestCase("2h", 7_200_000_000_000L)]
    [TestCase("1d", 86_400_000_000_000L)]
    [TestCase("1.5h", 5_400_000_000_000L)]
    public void TryParseTimeBound_RelativeAge_IsThatLongBeforeNow(string text, long ageNs)
    {
        var ok = TimeArguments.TryParseTimeBound("--since", text, Now, out var unixNs, out var error);

        Assert.That(ok, Is.True, error);
        Assert.That(unixNs, Is.EqualTo(NowNs - ageNs));
    }

    [TestCase("2025-01-31T11:00:00Z", 0L, -3600)]
    [TestCase("2025-01-31T13:00:00+02:00", 0L, -3600)]
    [TestCase("2025-01-31T11:00:00.123456789Z", 123_456_789L, -3600)]
    [TestCase("2025-01-31 11:00:00.5", 500_000_000L, -3600)]
    [TestCase("2025-01-31", 0L, -43200)]
    public void TryParseTimeBound_Timestamp_IsExactToTheNanosecond(string text, long fractionNs, int secondsFromNow)
    {
        var ok = TimeArguments.TryParseTimeBound("--until", text, Now, out var unixNs, out var error);

        Assert.That(ok, Is.True, error);
        Assert.That(unixNs, Is.EqualTo(NowNs + secondsFromNow * 1_000_000_000L + fractionNs));
    }

    [TestCase("--since", "yesterday")]
    [TestCase("--since", "10")]
    [TestCase("--until", "10 parsecs")]
    [TestCase("--until", "-5m")]
    [TestCase("--since", "2025-13-45T00:00:00Z")]
    public void TryParseTimeBound_Garbage_FailsNamingTheFlagAndValue(string flag, string text)
    {
        var ok = TimeArguments.TryParseTimeBound(flag, text, Now, out _, out var error);

        Assert.That(ok, Is.False);
        Assert.That(error, Does.StartWith($"{flag}: '{text}' is not"));
        Assert.That(error, Does.Not.Contain('\n'));
    }

    [TestCase("20ms", 20_000_000L)]
    [TestCase("1.5s", 1_500_000_000L)]
    [TestCase("500us", 500_000L)]
    [TestCase("500µs", 500_000L)]
    [TestCase("250000ns", 250_000L)]
    [TestCase("0.5ms", 500_000L)]
    [TestCase("2m", 120_000_000_000L)]
    public void TryParseDuration_WithUnit_IsNanoseconds(string text, long expected)
    {
        var ok = TimeArguments.TryParseDuration("--min-rtt", text, out var ns, out var error);

        Assert.That(ok, Is.True, error);
        Assert.That(ns, Is.EqualTo(expected));
    }

    [Test]
    public void TryParseDuration_BareNumber_AsksForAUnit()
    {
        var ok = TimeArguments.TryParseDuration("--min-rtt", "20", out _, out var error);

        Assert.That(ok, Is.False);
        Assert.That(error, Does.StartWith("--min-rtt: '20' needs a unit"));
    }

    [TestCase("fast")]
    [TestCase("-20ms")]
    [TestCase("20 lightyears")]
    [TestCase("")]
    public void TryParseDuration_Garbage_FailsNamingTheFlag(string text)
    {
        var ok = TimeArguments.TryParseDuration("--duration", text, out _, out var error);

        Assert.That(ok, Is.False);
        Assert.That(error, Does.StartWith($"--duration: '{text}' is not a duration"));
    }
}
