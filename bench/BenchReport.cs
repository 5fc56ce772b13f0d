using System.Globalization;
using System.Text;
using System.Text.Json;

namespace HopCapture.Bench;

/// <summary>Writes RESULTS.md (people) and results.json (machines) next to each other.</summary>
public static class BenchReport
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static void Write(BenchResults r, BenchSettings settings)
    {
        ArgumentNullException.ThrowIfNull(r);
        ArgumentNullException.ThrowIfNull(settings);
        Directory.CreateDirectory(settings.OutputDirectory);
        File.WriteAllText(Path.Combine(settings.OutputDirectory, "results.json"),
            JsonSerializer.Serialize(r, Indented) + "\n");
        File.WriteAllText(Path.Combine(settings.OutputDirectory, "RESULTS.md"), Markdown(r));
    }

    public static string Markdown(BenchResults r)
    {
        ArgumentNullException.ThrowIfNull(r);
        var c = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine("# Benchmark results");
        md.AppendLine();
        md.AppendLine(c, $"Written by `build/bench.sh` on {r.Machine}.");
        md.AppendLine(c, $"Capture set: {r.Files} pcap files (field report 003's six points), {r.Packets:N0} ICMP echo packets, {r.Bytes / 1e6:0.0} MB, {r.Probes:N0} probes.");
        md.AppendLine();
        md.AppendLine("| measure | result | target | met |");
        md.AppendLine("|---|---|---|---|");
        Row(md, "engine, one core (obs/s)", $"{r.EngineObsPerSecond:N0}", "≥ 2,000,000", r.EngineObsPerSecond >= 2e6);
        Row(md, "engine ingestion path only: Add, nothing finalised (obs/s)", $"{r.EngineAddOnlyObsPerSecond:N0}", "—", null);
        Row(md, "engine + ProbeRecord mapping (obs/s)", $"{r.EngineWithRecordsObsPerSecond:N0}", "—", null);
        Row(md, "engine allocation (bytes/obs)", $"{r.EngineAllocatedBytesPerObs:0.0}", "—", null);
        Row(md, $"memory per in-flight probe ({r.InFlightProbes:N0} six-point probes held)", $"{r.BytesPerInFlightProbe:N0} B", "≤ 1024 B", r.BytesPerInFlightProbe <= 1024);
        var runs = r.IngestRuns.Count;
        Row(md, $"gRPC ingest → {(r.IngestStore == "postgres" ? "PostgreSQL" : "SQLite")}, {r.IngestAgents} agents (obs/s), median of {runs} runs", $"{r.IngestObsPerSecond:N0} (offered {r.IngestOfferedObsPerSecond:N0}; runs {Spread(r.IngestRuns.Select(x => x.ObsPerSecond), "N0")})",
            "≥ 1,000,000", runs > 0 && r.IngestRuns.All(x => x.ObsPerSecond >= 1e6));
        Row(md, "capture ts → queryable, p50 / p99 / max (medians)", $"{r.LatencyP50Ms:0} / {r.LatencyP99Ms:0} / {r.LatencyMaxMs:0} ms ({r.IngestProbesStored:N0} probes); p99 of the runs {Spread(r.IngestRuns.Select(x => x.P99Ms), "0")} ms",
            "p99 < 1000 ms in every run", runs > 0 && r.IngestRuns.All(x => x.P99Ms < 1000 && x.ProbesStored > 0));
        Row(md, "correlator process during ingest: CPU (median)", $"{r.CorrelatorCpuCores:0.00} cores (runs {Spread(r.IngestRuns.Select(x => x.Cores), "0.00")})", "—", null);
        if (r.IngestStore == "postgres")
        {
            Row(md, "PostgreSQL server processes during ingest: CPU (median)", $"{r.StoreCpuCores:0.00} cores", "—", null);
        }

        Row(md, "correlator peak resident memory, start-up included (largest run)", $"{r.CorrelatorPeakMemoryBytes / 1e6:0} MB (runs {Spread(r.IngestRuns.Select(x => x.PeakMemoryBytes / 1e6), "0")})",
            "≤ 400 MB", runs > 0 && r.CorrelatorPeakMemoryBytes <= 400_000_000);
        Row(md, "`capture analyze` (process, all files)", $"{r.AnalyzeProcessSeconds:0.00} s ({r.Packets / Math.Max(1e-9, r.AnalyzeProcessSeconds):N0} pkt/s); warm, in process: {r.AnalyzeInProcessSeconds:0.00} s", "—", null);
        Row(md, "tshark field extraction (all files)", $"{r.TsharkSeconds:0.00} s → analyze is {r.TsharkRatio:0.0}× faster", "≥ 20×", r.TsharkSeconds > 0 ? r.TsharkRatio >= 20 : null);
        Row(md, "tcpdump -nn -q -tt (all files)", $"{r.TcpdumpSeconds:0.00} s → analyze is {r.TcpdumpRatio:0.00}× as fast", "≥ 1×", r.TcpdumpSeconds > 0 ? r.TcpdumpRatio >= 1 : null);
        md.AppendLine();
        md.AppendLine("Ingest: the correlator binary runs as its own process with its shipped settings, after a warm-up at the same rate;");
        md.AppendLine("latency includes the agents' batching and the 20 ms database poll. The load generators share the 2 cores with it.");
        md.AppendLine("`capture analyze`, tshark and tcpdump: best of three runs each; tshark and tcpdump read each file in turn, output discarded.");
        if (r.IngestRuns.Count > 0)
        {
            md.AppendLine();
            md.AppendLine("| ingest run | accepted obs/s | p50 / p99 / max ms | probes | correlator cores | peak resident MB | late obs / evicted / held-back turns | warm-up: late / evicted / held back |");
            md.AppendLine("|---|---|---|---|---|---|---|---|");
            for (var i = 0; i < r.IngestRuns.Count; i++)
            {
                var x = r.IngestRuns[i];
                var engine = x.Engine is { } e ? $"{e.Late:N0} / {e.Evicted:N0} / {e.HeldBack:N0}" : "—";
                var warm = x.WarmUp is { } w ? $"{w.Late:N0} / {w.Evicted:N0} / {w.HeldBack:N0}" : "—";
                md.AppendLine(c, $"| {i + 1} | {x.ObsPerSecond:N0} | {x.P50Ms:0} / {x.P99Ms:0} / {x.MaxMs:0} | {x.ProbesStored:N0} | {x.Cores:0.00} | {x.PeakMemoryBytes / 1e6:0} | {engine} | {warm} |");
            }

            md.AppendLine();
            md.AppendLine("Late observations arrived after their probe was finalised (the probe was stored cut short); evicted probes were dropped unfinished; " +
                "held-back turns are the engine leaving batches queued at Engine:MaxInFlight (ingest waits, nothing is lost). Probes above the number sent are parts of cut probes. " +
                "Warm-up: the same counters over the warm-up, the correlator started straight into the offered rate (its start-up transient).");

            md.AppendLine();
        }

        foreach (var note in r.Notes)
        {
            md.AppendLine(c, $"- {note}");
        }

        return md.ToString();
    }

    /// <summary>"min – max" of the runs, so one lucky run cannot stand for all.</summary>
    private static string Spread(IEnumerable<double> values, string format)
    {
        var list = values.ToList();
        return list.Count == 0 ? "—" : string.Create(CultureInfo.InvariantCulture, $"{list.Min().ToString(format, CultureInfo.InvariantCulture)} – {list.Max().ToString(format, CultureInfo.InvariantCulture)}");
    }

    private static void Row(StringBuilder md, string measure, string result, string target, bool? met) =>
        md.AppendLine(CultureInfo.InvariantCulture, $"| {measure} | {result} | {target} | {(met is null ? "" : met.Value ? "yes" : "**no**")} |");
}
