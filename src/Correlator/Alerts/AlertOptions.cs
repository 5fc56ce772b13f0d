namespace HopCapture.Correlator.Alerts;

/// <summary>
/// Configuration section "Correlator:Alerts", read through IOptionsMonitor so a changed config
/// file applies to the next evaluation without a restart. Thresholds are in the statistic's own
/// unit: milliseconds for p50/p99/max, percent for loss, a count for freezes.
/// </summary>
public sealed class AlertOptions
{
    public const string SectionName = "Correlator:Alerts";

    /// <summary>Re-sends a firing alert's endsAt covers: that many may be lost before Alertmanager resolves it on its own.</summary>
    public const int EndsAtResends = 4;

    /// <summary>How often every rule is evaluated.</summary>
    public TimeSpan EvaluationInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How often a firing alert is sent again to every webhook (Alertmanager's client contract:
    /// clients re-send active alerts, or Alertmanager resolves them after its resolve_timeout).
    /// Keep it below the receiver's resolve_timeout (Alertmanager's default is 5 min). Each send
    /// carries endsAt = send time + <see cref="EndsAtResends"/> × this, as Prometheus does.
    /// </summary>
    public TimeSpan ResendInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Base of Alertmanager's generatorURL (e.g. http://correlator:7400/alerts); empty leaves it out.</summary>
    public string GeneratorUrl { get; set; } = "";

    public List<AlertRuleOptions> Rules { get; set; } = [];

    /// <summary>The built-in alert on agents that went quiet (alertname hopcapture-agent-down); on by default.</summary>
    public AgentDownOptions AgentDown { get; set; } = new();

    /// <summary>The built-in alert on a journal or store that cannot write (alertname hopcapture-store-unwritable); on by default.</summary>
    public StoreUnwritableOptions StoreUnwritable { get; set; } = new();

    public List<WebhookOptions> Webhooks { get; set; } = [];
}

/// <summary>One rule: which probes (path selector), what to measure (segment, leg, statistic) and when to page.</summary>
public sealed class AlertRuleOptions
{
    /// <summary>Unique; becomes the alertname label.</summary>
    public string Name { get; set; } = "";

    /// <summary>Glob over the echo request's source address.</summary>
    public string Src { get; set; } = "*";

    /// <summary>Glob over the echo request's destination address.</summary>
    public string Dst { get; set; } = "*";

    /// <summary>Glob over the nodes on the path: the probe matches when any of its points' nodes does.</summary>
    public string Node { get; set; } = "*";

    /// <summary>Segment kind: fabric, nic, vif, stack, remote, a combined kind such as nic+fabric, or "*" for the whole round trip.</summary>
    public string Segment { get; set; } = "fabric";

    /// <summary>
    /// contains (default): the rule also looks at combined kinds that contain its kind (a fabric
    /// rule sees nic+fabric when a NIC point was not captured); exact: only that kind.
    /// </summary>
    public string SegmentMatch { get; set; } = "contains";

    /// <summary>any | request | reply (see <see cref="HopCapture.Analysis.Legs.SegmentLegs"/>).</summary>
    public string Leg { get; set; } = "any";

    /// <summary>p50 | p99 | max (segment latency, ms), loss (percent of probes lost in the segment), freezes (runs of lost probes).</summary>
    public string Statistic { get; set; } = "p99";

    public double Threshold { get; set; }

    /// <summary>Samples older than this are forgotten.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Hold time: the condition must stay true this long before the alert fires.</summary>
    public TimeSpan For { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A firing alert resolves only after the condition has been false this long.</summary>
    public TimeSpan KeepFiringFor { get; set; } = TimeSpan.Zero;

    /// <summary>Samples the window needs before the statistic counts at all.</summary>
    public int MinSamples { get; set; } = 10;

    /// <summary>Samples that must themselves breach the threshold, so one outlier never pages.</summary>
    public int MinBreaching { get; set; } = 3;

    /// <summary>For freezes: consecutive lost probes that make one freeze.</summary>
    public int FreezeMinLost { get; set; } = 3;

    public string Severity { get; set; } = "warning";
}

/// <summary>
/// "Correlator:Alerts:AgentDown": an agent known to the correlator (connected since start, or
/// remembered in the store's agents table) that sent no heartbeat or batch for longer than
/// <see cref="After"/> fires <c>hopcapture-agent-down</c> with label <c>node</c>; it resolves
/// when the agent reports again. Agents send a heartbeat every 5 s by default.
/// </summary>
public sealed class AgentDownOptions
{
    public bool Enabled { get; set; } = true;

    /// <summary>Silence that makes an agent down.</summary>
    public TimeSpan After { get; set; } = TimeSpan.FromMinutes(1);

    public string Severity { get; set; } = "page";

    /// <summary>Glob over node names the alert watches (e.g. to leave out a decommissioned node still in the store).</summary>
    public string Nodes { get; set; } = "*";
}

/// <summary>
/// "Correlator:Alerts:StoreUnwritable": the ingest journal or the results store cannot write
/// (disk full, read-only, I/O errors) and ingest is held back. Fires at the first failed write,
/// with label <c>part</c> (journal, store); resolves when the part writes again.
/// </summary>
public sealed class StoreUnwritableOptions
{
    public bool Enabled { get; set; } = true;

    public string Severity { get; set; } = "page";
}

/// <summary>An HTTP receiver speaking Alertmanager's POST /api/v2/alerts.</summary>
public sealed class WebhookOptions
{
    public string Name { get; set; } = "";

    /// <summary>Full URL, e.g. http://alertmanager:9093/api/v2/alerts.</summary>
    public string Url { get; set; } = "";

    /// <summary>Per attempt.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Immediate retries of one delivery round (Polly, exponential backoff with jitter).</summary>
    public int Retries { get; set; } = 3;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Cap of the wait between delivery rounds while the receiver stays down (the outbox keeps the alert).</summary>
    public TimeSpan MaxBackoff { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Rounds a notification may be refused with a 4xx (other than 408/429) before it is
    /// dead-lettered: a receiver that rejects the request will not accept it on the 100th try
    /// either, and delivery is in order, so it would block every later notification of this webhook.
    /// </summary>
    public int MaxRejections { get; set; } = 5;

    /// <summary>Extra request headers (e.g. Authorization).</summary>
    public Dictionary<string, string> Headers { get; set; } = [];
}
