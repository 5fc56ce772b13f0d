namespace HopCapture.Correlator.Query;

/// <summary>
/// What the correlator's exports (ExportProbes, <c>capture probes --all</c>) are doing, across
/// calls: how many run, the probes they sent and how many the caller gave up on (the pages
/// read from the store are <see cref="Storage.ProbeQueries.PagesRead"/>).
/// </summary>
public sealed class ProbeExports
{
    private long _running;
    private long _probesSent;
    private long _stopped;

    /// <summary>Exports in progress.</summary>
    public long Running => Interlocked.Read(ref _running);

    /// <summary>Probes written to export streams since start.</summary>
    public long ProbesSent => Interlocked.Read(ref _probesSent);

    /// <summary>Exports that ended because the caller cancelled, its deadline passed or the correlator stopped.</summary>
    public long Stopped => Interlocked.Read(ref _stopped);

    internal void Started() => Interlocked.Increment(ref _running);

    internal void Ended(bool stopped)
    {
        Interlocked.Decrement(ref _running);
        if (stopped)
        {
            Interlocked.Increment(ref _stopped);
        }
    }

    internal void Sent(int probes) => Interlocked.Add(ref _probesSent, probes);
}
