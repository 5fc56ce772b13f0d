namespace HopCapture.Agent.Spool;

/// <summary>The "Agent:Spool" section: where sealed batches wait on disk for the correlator's ack.</summary>
public sealed class SpoolOptions
{
    /// <summary>256 MiB: at a 20-node cluster's probe rate (~2,000 observations/s, 60 bytes each) about 35 minutes of outage.</summary>
    public const long DefaultMaxBytes = 256L << 20;

    /// <summary>The spool's directory; empty = <c>spool</c> under <c>Agent:StateDirectory</c>.</summary>
    public string Directory { get; set; } = "";

    /// <summary>Bytes the spool may hold; past it the oldest batches are deleted unsent and counted (drop-oldest).</summary>
    public long MaxBytes { get; set; } = DefaultMaxBytes;
}
