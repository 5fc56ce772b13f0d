using System.Globalization;

namespace HopCapture.Bench;

/// <summary>What one benchmark run does; the defaults are what build/bench.sh measures.</summary>
public sealed record BenchSettings
{
    /// <summary>ICMP packets in the generated capture set, across all files.</summary>
    public int Packets { get; init; } = 1_200_000;

    /// <summary>In-flight probes held for the memory measurement.</summary>
    public int InFlightProbes { get; init; } = 100_000;

    /// <summary>Concurrent agents (gRPC streams) of the ingest run.</summary>
    public int Agents { get; init; } = 4;

    public double IngestSeconds { get; init; } = 10;

    /// <summary>
    /// Load sent before the measured ingest run, so the correlator's JIT has settled and the path's
    /// points have been stable for a probe timeout (5 s), as on a correlator that has been running.
    /// </summary>
    public double IngestWarmupSeconds { get; init; } = 8;

    /// <summary>
    /// Offered observations per second, across all agents: 10 % above issue 12's target of 1 M
    /// accepted, since a run can accept no more than is offered (and its last acks count in its time).
    /// </summary>
    public int IngestRate { get; init; } = 1_100_000;

    /// <summary>Ingest runs, each against a freshly started correlator (issue 12: p99 &lt; 1 s in every one of 5).</summary>
    public int IngestRuns { get; init; } = 5;

    /// <summary>Engine repetitions; the best is reported (first ones warm the JIT).</summary>
    public int EngineRuns { get; init; } = 3;

    /// <summary>Compare with tshark and tcpdump when they are installed.</summary>
    public bool External { get; init; } = true;

    /// <summary>The measures to run (engine, offline, ingest, history); all but history by default.</summary>
    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>(["engine", "offline", "ingest"], StringComparer.Ordinal);

    public static readonly IReadOnlySet<string> Measures = new HashSet<string>(["engine", "offline", "ingest", "history"], StringComparer.Ordinal);

    /// <summary>History measure: days of rollups, the site's probes a second, its paths, and raw probes written.</summary>
    public int HistoryDays { get; init; } = 7;

    public int HistoryRate { get; init; } = 10_000;

    public int HistoryPaths { get; init; } = 200;

    public int HistoryRawProbes { get; init; } = 100_000;

    /// <summary>What the ingest run's correlator stores into: "sqlite" (its file) or "postgres" (a local PostgreSQL 15 started for the run).</summary>
    public string Store { get; init; } = IngestStore.Sqlite;

    public string OutputDirectory { get; init; } = "bench";

    /// <summary>The capture CLI to time (build/bench.sh passes the published one); default: the build output, run with dotnet.</summary>
    public string? Cli { get; init; }

    public string WorkDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "hopcapture-bench");

    public static BenchSettings? Parse(string[] args, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(error);
        var settings = new BenchSettings();
        for (var i = 0; i < args.Length; i++)
        {
            var name = args[i];
            if (name == "--no-external")
            {
                settings = settings with { External = false };
                continue;
            }

            if (i + 1 >= args.Length)
            {
                error.WriteLine($"bench: {name} needs a value");
                return null;
            }

            var value = args[++i];
            var number = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1;
            switch (name)
            {
                case "--packets" when number > 0:
                    settings = settings with { Packets = number };
                    break;
                case "--in-flight" when number > 0:
                    settings = settings with { InFlightProbes = number };
                    break;
                case "--agents" when number > 0:
                    settings = settings with { Agents = number };
                    break;
                case "--ingest-seconds" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var s) && s > 0:
                    settings = settings with { IngestSeconds = s };
                    break;
                case "--ingest-warmup" when double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var w) && w >= 0:
                    settings = settings with { IngestWarmupSeconds = w };
                    break;
                case "--ingest-rate" when number > 0:
                    settings = settings with { IngestRate = number };
                    break;
                case "--runs" when number > 0:
                    settings = settings with { IngestRuns = number };
                    break;
                case "--engine-runs" when number > 0:
                    settings = settings with { EngineRuns = number };
                    break;
                case "--history-days" when number > 0:
                    settings = settings with { HistoryDays = number };
                    break;
                case "--history-rate" when number > 0:
                    settings = settings with { HistoryRate = number };
                    break;
                case "--history-paths" when number > 0:
                    settings = settings with { HistoryPaths = number };
                    break;
                case "--history-raw" when number > 0:
                    settings = settings with { HistoryRawProbes = number };
                    break;
                case "--only" when value.Split(',').All(Measures.Contains):
                    settings = settings with { Only = value.Split(',').ToHashSet(StringComparer.Ordinal) };
                    break;
                case "--store" when value is IngestStore.Sqlite or IngestStore.Postgres:
                    settings = settings with { Store = value };
                    break;
                case "--cli":
                    settings = settings with { Cli = value };
                    break;
                case "--out":
                    settings = settings with { OutputDirectory = value };
                    break;
                case "--work":
                    settings = settings with { WorkDirectory = value };
                    break;
                default:
                    error.WriteLine($"bench: unknown option or bad value: {name} {value}");
                    return null;
            }
        }

        return settings;
    }
}
