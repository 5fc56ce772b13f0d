using HopCapture.Correlator.Metrics;
using HopCapture.Hosting.CommandLine;

namespace HopCapture.Correlator.Hosting;

/// <summary>The correlator's command line, declared once: each flag with the configuration key it sets.</summary>
public static class CorrelatorCommandLine
{
    public static readonly HostFlag ListenFlag = new(
        "--listen", "ADDR:PORT", CorrelatorOptions.SectionName + ":Listen", "gRPC endpoint for agents and the CLI; port 0 picks a free one (default 127.0.0.1:7400)");

    public static readonly HostFlag DatabaseFlag = new(
        "--db", "PATH", CorrelatorOptions.SectionName + ":Database", "SQLite results file (default ./hopcapture.db)");

    public static readonly HostFlag MetricsFlag = new(
        "--metrics", "ADDR:PORT", MetricsOptions.SectionName + ":Listen", "HTTP/1.1 listener for Prometheus /metrics (default: none)");

    public static HostCommandLine Definition { get; } = new(
        "hopcapture-correlator", CorrelatorOptions.SectionName, [ListenFlag, DatabaseFlag, MetricsFlag], typeof(CorrelatorCommandLine).Assembly)
    {
        Summary = "Receives agent observations, correlates each probe hop by hop, stores the results and serves the query API.",
        Epilog = "example: hopcapture-correlator --listen 0.0.0.0:7400 --db /var/lib/hopcapture/hopcapture.db --config /etc/hopcapture/correlator.json\n" +
                 "environment: HOPCAPTURE_Correlator__Key=VALUE, between the config file and the command line\n" +
                 "TLS: --Correlator:Tls:Certificate FILE --Correlator:Tls:Key FILE --Correlator:Tls:ClientCa FILE (make them with 'capture pki'),\n" +
                 "     or --Correlator:Plaintext=true with a loopback --listen (tests, development)\n" +
                 "exit codes: 0 stopped, 1 failed, 2 bad command line or configuration",
    };
}
