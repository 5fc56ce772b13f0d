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
