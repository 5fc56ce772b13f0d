using System.Globalization;

namespace HopCapture.Correlator.Hosting;

/// <summary>Unix nanoseconds from a <see cref="TimeProvider"/>, the time unit of every wire field.</summary>
public static class UnixTime
{
    public static long NowNs(this TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return (timeProvider.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
    }

    /// <summary>"2026-11-30 20:15 UTC": a minute, for one-line messages.</summary>
    public static string Minute(long unixNs) =>
        DateTimeOffset.UnixEpoch.AddTicks(unixNs / 100).ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);

    /// <summary>"2026-11-30T20:15:06.123Z", as Alertmanager and people read it.</summary>
    public static string Rfc3339(long unixNs) =>
        DateTimeOffset.UnixEpoch.AddTicks(unixNs / 100).ToString("yyyy-MM-dd'T'HH:mm:ss.fffK", CultureInfo.InvariantCulture).Replace("+00:00", "Z", StringComparison.Ordinal);
}
