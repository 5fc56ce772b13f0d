namespace HopCapture.Correlator.Causes;

/// <summary>Section "Correlator:HostEvidence" (issue 15): how long the agents' host evidence is kept.</summary>
public sealed class HostEvidenceOptions
{
    public const string Section = "Correlator:HostEvidence";

    /// <summary>Evidence older than this (by its agent timestamp) is deleted.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>At most this many rows; beyond it the oldest go first (a flapping host cannot fill the disk).</summary>
    public long MaxRows { get; set; } = 1_000_000;

    /// <summary>Evidence this far before a freeze's start and after its end still belongs to it: the agents sample once a second and their clocks differ a little.</summary>
    public TimeSpan Slack { get; set; } = TimeSpan.FromSeconds(3);
}
