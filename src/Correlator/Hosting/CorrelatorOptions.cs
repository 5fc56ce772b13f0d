using HopCapture.Engine.Correlation;

namespace HopCapture.Correlator.Hosting;

/// <summary>Configuration section "Correlator".</summary>
public sealed class CorrelatorOptions
{
    public const string SectionName = "Correlator";

    /// <summary>gRPC endpoint (cleartext HTTP/2) as ADDR:PORT; port 0 picks a free port.</summary>
    public string Listen { get; set; } = "127.0.0.1:7400";

    /// <summary>SQLite results file.</summary>
    public string Database { get; set; } = "./hopcapture.db";

    /// <summary>Node names allowed to connect; empty allows any.</summary>
    public string[] AllowedNodes { get; set; } = [];

    public EngineOptions Engine { get; set; } = new();

    /// <summary>
    /// Largest gRPC message accepted (an agent batch, a Hello), in bytes; a larger one ends that
    /// stream with ResourceExhausted. Agents send batches of ~1,000 observations (~40 KB).
    /// </summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Observations per second one node may hand to the engine (0 = no limit); beyond it the
    /// node's acks wait, so a flooding agent slows down instead of crowding out the others.
    /// </summary>
    public int AgentMaxObservationsPerSecond { get; set; } = 1_000_000;
}
