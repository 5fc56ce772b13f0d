namespace HopCapture.Agent.Evidence;

/// <summary>
/// Section "Agent:HostEvidence" (issue 15): how the agent samples the host devices under its
/// capture interfaces (carrier, counters, qdisc, bridge STP, kernel log) to explain freezes.
/// </summary>
public sealed class HostEvidenceOptions
{
    public const string Section = "Agent:HostEvidence";

    /// <summary>Sample host evidence at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Time between samples. STP states last a forward delay (default 15 s, 2 s at the least), so
    /// one second shows every state; a carrier flip shorter than that still moves carrier_changes.
    /// </summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Changes kept in memory (sent with heartbeats, re-sent after a reconnect) for this long.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>At most this many changes kept; the oldest go first.</summary>
    public int MaxEvents { get; set; } = 4096;

    /// <summary>
    /// Time between reads of a NIC's coalescing and offload settings (SIOCETHTOOL; <c>ethtool -c/-k</c>).
    /// They change only when someone runs <c>ethtool -C/-K</c>, so they need not cost a second's
    /// ioctls; driver counters are read every sample.
    /// </summary>
    public TimeSpan SettingsEvery { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Read <c>/dev/kmsg</c> for lines that name a watched device.</summary>
    public bool KernelLog { get; set; } = true;
}
