namespace HopCapture.Correlator.Probing;

/// <summary>
/// Section "Correlator:Probing": who probes whom, managed centrally and pushed to the agents
/// (reloaded without restart). Selectors in From/To: a node name or glob ("vm*"), "@group",
/// or (To only) an IP address. A node name resolves to the first address the node's agent
/// reports on a captured interface (guest first, then nic, bridge, vif). A group of globs
/// takes new nodes in as they connect: adding a node never means editing the others.
/// </summary>
public sealed class ProbingOptions
{
    public const string SectionName = "Correlator:Probing";

    /// <summary>Named node sets: group → selectors (names, globs, IPs).</summary>
    public Dictionary<string, string[]> Groups { get; set; } = new(StringComparer.Ordinal);

    public List<ProbePlanOptions> Plans { get; set; } = [];

    /// <summary>
    /// Addresses or networks (CIDR) `capture trace` may target besides loopback, the monitored
    /// nodes' own addresses and the plans' IP targets; anything else is refused (PermissionDenied).
    /// </summary>
    public string[] TraceAllow { get; set; } = [];

    /// <summary>Traces one node may run at once.</summary>
    public int TraceMaxConcurrent { get; set; } = 4;

    /// <summary>Probes per second all traces from one node may send together (a 10 ms trace is 100/s).</summary>
    public int TraceMaxRate { get; set; } = 200;
}

public sealed class ProbePlanOptions
{
    public string Name { get; set; } = "";

    /// <summary>Probing nodes: names, globs or @groups.</summary>
    public string[] From { get; set; } = [];

    /// <summary>Targets: names, globs, @groups or IP addresses. From = To = "@group" is a full mesh (a node never probes itself).</summary>
    public string[] To { get; set; } = [];

    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>ICMP payload bytes (16-1400).</summary>
    public int Size { get; set; } = 56;
}
