namespace HopCapture.Correlator.Incidents;

/// <summary>
/// The "Correlator:Incidents" section: when an incident opens without any rule (a cluster of slow
/// or lost probes blamed on one segment), and how much traffic context is pulled from the agents.
/// </summary>
public sealed class IncidentOptions
{
    public const string SectionName = "Correlator:Incidents";

    public bool Enabled { get; set; } = true;

    /// <summary>A probe is slow when its blamed segment cost at least this much.</summary>
    public TimeSpan SlowCost { get; set; } = TimeSpan.FromMilliseconds(20);

    /// <summary>This many slow (or lost) probes on one segment within <see cref="Window"/> open an incident.</summary>
    public int MinProbes { get; set; } = 5;

    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The cluster is over when no slow or lost probe joined it for this long; then the context is pulled.</summary>
    public TimeSpan Settle { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>A cluster that goes on longer is collected anyway after this long (the agents keep only minutes).</summary>
    public TimeSpan MaxOpen { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Traffic accounting asked for from this long before the first slow probe…</summary>
    public TimeSpan Before { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>…to this long after the last one.</summary>
    public TimeSpan After { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>No second incident on the same segment within this long of the last one.</summary>
    public TimeSpan Cooldown { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>How long the agents have to answer a traffic request.</summary>
    public TimeSpan AgentTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Top flows kept per interface.</summary>
    public int TopFlows { get; set; } = 10;

    /// <summary>A bond is imbalanced when one slave carries at least this share of its bytes.</summary>
    public double ImbalanceShare { get; set; } = 0.7;

    /// <summary>A link is near line rate when its busiest bucket reaches this share of its speed.</summary>
    public double NearLineRate { get; set; } = 0.9;

    public IEnumerable<string> Problems()
    {
        const string S = SectionName;
        if (SlowCost <= TimeSpan.Zero)
        {
            yield return $"{S}:SlowCost: must be positive";
        }

        if (MinProbes is < 1 or > 10_000)
        {
            yield return $"{S}:MinProbes: {MinProbes} is outside 1..10000";
        }

        foreach (var (key, value) in new[] { ("Window", Window), ("Settle", Settle), ("MaxOpen", MaxOpen), ("Before", Before), ("After", After), ("Cooldown", Cooldown), ("AgentTimeout", AgentTimeout) })
        {
            if (value < TimeSpan.Zero || value > TimeSpan.FromHours(1))
            {
                yield return $"{S}:{key}: {value} is outside 00:00:00..01:00:00";
            }
        }

        if (Window <= TimeSpan.Zero)
        {
            yield return $"{S}:Window: must be positive";
        }

        if (TopFlows is < 1 or > 1000)
        {
            yield return $"{S}:TopFlows: {TopFlows} is outside 1..1000";
        }

        if (ImbalanceShare is <= 0.5 or > 1)
        {
            yield return $"{S}:ImbalanceShare: {ImbalanceShare} is outside (0.5, 1]";
        }

        if (NearLineRate is <= 0 or > 1)
        {
            yield return $"{S}:NearLineRate: {NearLineRate} is outside (0, 1]";
        }
    }
}
