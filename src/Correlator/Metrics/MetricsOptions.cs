namespace HopCapture.Correlator.Metrics;

/// <summary>
/// Section "Correlator:Metrics". The gRPC port speaks HTTP/2 only (TLS, every call authorised), which Prometheus
/// cannot scrape, so /metrics gets its own HTTP/1.1 listener; off unless an address is given.
/// </summary>
public sealed class MetricsOptions
{
    public const string SectionName = "Correlator:Metrics";

    /// <summary>ADDR:PORT of the HTTP/1.1 /metrics listener (e.g. 127.0.0.1:9400); empty = no metrics listener.</summary>
    public string Listen { get; set; } = "";
}
