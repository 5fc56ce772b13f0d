using HopCapture.Engine.Correlation;

namespace HopCapture.Correlator.Hosting;

/// <summary>Configuration section "Correlator".</summary>
public sealed class CorrelatorOptions
{
    public const string SectionName = "Correlator";

    /// <summary>gRPC endpoint (HTTP/2 over TLS, or cleartext with <see cref="Plaintext"/>) as ADDR:PORT; port 0 picks a free port.</summary>
    public string Listen { get; set; } = "127.0.0.1:7400";

    /// <summary>SQLite results file (when Store:Provider is "sqlite").</summary>
    public string Database { get; set; } = "./hopcapture.db";

    /// <summary>Node names allowed to connect; empty allows any.</summary>
    public string[] AllowedNodes { get; set; } = [];

    /// <summary>
    /// Serve gRPC without TLS. Allowed only when <see cref="Listen"/> is a loopback address (tests,
    /// development); anywhere else the correlator refuses to start.
    /// </summary>
    public bool Plaintext { get; set; }

    /// <summary>The server certificate and the client CA bundle (section Correlator:Tls).</summary>
    public Security.TlsOptions Tls { get; set; } = new();

    /// <summary>The CLI's tokens (section Correlator:Access).</summary>
    public Security.AccessOptions Access { get; set; } = new();

    public EngineOptions Engine { get; set; } = new();

    /// <summary>The ingest journal (section Correlator:Journal).</summary>
    public Journal.JournalOptions Journal { get; set; } = new();

    /// <summary>Which backend holds the results (section Correlator:Store).</summary>
    public Storage.StoreOptions Store { get; set; } = new();

    /// <summary>How long raw probes are kept and how much disk they may use (section Correlator:Retention).</summary>
    public Storage.RetentionOptions Retention { get; set; } = new();

    /// <summary>
    /// Largest gRPC message accepted (an agent batch, a Hello), in bytes; a larger one ends that
    /// stream with ResourceExhausted. Agents send batches of ~1,000 observations (~52 KB packed).
    /// </summary>
    public int MaxMessageBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>
    /// Bytes of accepted batches that may wait for the journal and the engine together (~106 bytes
    /// per observation); beyond it the streams' acks wait, so agents slow down and spool. 16 MiB
    /// is ~0.15 s of ingest at 1 M observations/s, enough to keep the engine fed.
    /// </summary>
    public long IngestQueueBytes { get; set; } = 16L * 1024 * 1024;

    /// <summary>
    /// Observations per second one node may hand to the engine (0 = no limit, the default); beyond
    /// it the node's acks wait, so a flooding agent slows down instead of crowding out the others.
    /// Off by default: in build/bench.sh's ingest run (4 agents, 150 k obs/s each) the limiter at
    /// 1 M/s per node coincided with capture → queryable p99 of 1.4–1.7 s against 0.27 s without it.
    /// </summary>
    public int AgentMaxObservationsPerSecond { get; set; }

    /// <summary>
    /// Tell agents (in the Welcome) that batches may carry packed observations (ObservationBatch.packed,
    /// issue 12), the cheap form to decode; on by default. Off, agents send one message per
    /// observation as they do to a correlator that predates the field, and a packed field is refused.
    /// </summary>
    public bool AcceptPacked { get; set; } = true;
}
