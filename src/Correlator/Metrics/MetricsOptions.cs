namespace HopCapture.Correlator.Metrics;

/// <summary>
/// Section "Correlator:Metrics". The gRPC port speaks HTTP/2 only (TLS, every call authorised), which Prometheus
/// cannot scrape, so /metrics gets its own HTTP/1.1 listener; off unless an address is given.
/// Per-path series are bounded (issue 13: a 400-VM mesh is 160 k paths): only the paths selected
/// by <see cref="Paths"/> and the <see cref="TopPaths"/> busiest get them; every probe is also
/// counted per node pair (<see cref="PathSeriesBudget"/>).
/// </summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Correlator:Metrics";

    /// <summary>ADDR:PORT of the HTTP/1.1 /metrics listener (e.g. 127.0.0.1:9400); empty = no metrics listener.</summary>
    public string Listen { get; set; } = "";

    /// <summary>Paths that always get per-path series (src and dst globs), up to <see cref="SelectedPathLimit"/>.</summary>
    public List<MetricsPathOptions> Paths { get; set; } = [];

    /// <summary>Cap on paths <see cref="Paths"/> may select, so a glob like "*" cannot explode the series count.</summary>
    public int SelectedPathLimit { get; set; } = 500;

    /// <summary>Other paths with per-path series: the busiest by probes, re-ranked every <see cref="RankInterval"/>.</summary>
    public int TopPaths { get; set; } = 50;

    /// <summary>How often the busiest paths are re-ranked (a path that drops out loses its series).</summary>
    public TimeSpan RankInterval { get; set; } = TimeSpan.FromMinutes(1);
}

/// <summary>A path selector: globs over the echo request's source and destination address.</summary>
public sealed class MetricsPathOptions
{
    public string Src { get; set; } = "*";

    public string Dst { get; set; } = "*";
}
