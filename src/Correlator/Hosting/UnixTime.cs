namespace HopCapture.Correlator.Hosting;

/// <summary>Unix nanoseconds from a <see cref="TimeProvider"/>, the time unit of every wire field.</summary>
public static class UnixTime
{
    public static long NowNs(this TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        return (timeProvider.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100;
    }
}
