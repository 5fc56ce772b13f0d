namespace HopCapture.Agent.Probing;

/// <summary>
/// Section "Agent:Probing". What to probe comes from the correlator (plans and traces); this
/// only says whether the agent may probe at all and how hard.
/// </summary>
public sealed class ProbeOptions
{
    public const string Section = "Agent:Probing";

    /// <summary>Run the active prober (raw ICMP socket: root or CAP_NET_RAW). Off for replay-only agents.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Upper bound of probes sent per second, plans and traces together; beyond it sends are delayed.</summary>
    public int MaxRate { get; set; } = 200;

    /// <summary>Smallest interval a plan or trace may ask for.</summary>
    public TimeSpan MinInterval { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>Targets of the standing plan beyond this are ignored (and logged).</summary>
    public int MaxTargets { get; set; } = 1000;
}
