using HopCapture.Correlator.Storage;
using HopCapture.Tests.Shared;
using System.Diagnostics;
using System.Net;
using HopCapture.Cli.Commands;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Model;
using HopCapture.Packets.Files;
using HopCapture.Tests.Support;

namespace HopCapture.Bench;

/// <summary>The bench cannot measure what it was asked to: one line for the person, exit code 3.</summary>
public sealed class BenchException(string message) : Exception(message);

/// <summary>Everything one run measured; written to RESULTS.md and results.json.</summary>
public sealed record BenchResults
{
    public string Machine { get; init; } = "";
    public int Files { get; init; }
    public long Packets { get; init; }
    public long Bytes { get; init; }
    public long Probes { get; init; }
    public double EngineObsPerSecond { get; init; }
    public double EngineAllocatedBytesPerObs { get; init; }
    public double EngineWithRecordsObsPerSecond { get; init; }
    public double EngineAddOnlyObsPerSecond { get; init; }
    public int InFlightProbes { get; init; }
    public double BytesPerInFlightProbe { get; init; }
    public int IngestAgents { get; init; }
    public long IngestObservations { get; init; }
    public double IngestObsPerSecond { get; init; }
    public double IngestOfferedObsPerSecond { get; init; }
    public long IngestProbesStored { get; init; }
    public double LatencyP50Ms { get; init; }
    public double LatencyP99Ms { get; init; }
    public double LatencyMaxMs { get; init; }
    public double CorrelatorCpuCores { get; init; }
    /// <summary>The ingest run's store (sqlite, postgres) and, for a server, the cores it used.</summary>
    public string IngestStore { get; init; } = "sqlite";
    public double StoreCpuCores { get; init; }
    public long CorrelatorPeakMemoryBytes { get; init; }

    /// <summary>Every ingest run; the single figures above are their medians (peak memory: the largest).</summary>
    public List<IngestRun> IngestRuns { get; init; } = [];
    public double AnalyzeInProcessSeconds { get; init; }
    public double AnalyzeProcessSeconds { get; init; }
    public double TsharkSeconds { get; init; }
    public double TcpdumpSeconds { get; init; }
    public double TsharkRatio => AnalyzeProcessSeconds > 0 && TsharkSeconds > 0 ? TsharkSeconds / AnalyzeProcessSeconds : 0;
    public double TcpdumpRatio => AnalyzeProcessSeconds > 0 && TcpdumpSeconds > 0 ? TcpdumpSeconds / AnalyzeProcessSeconds : 0;
    public List<string> Notes { get; init; } = [];
}

/// <summary>
/// One ingest run against a freshly started correlator: what it accepted, how soon probes were
/// queryable, and what the correlator cost — its peak resident memory over its whole life,
/// start-up and warm-up included.
/// </summary>
public sealed record IngestRun(
    long Observations,
    double ObsPerSecond,
    long ProbesStored,
    double P50Ms,
    double P99Ms,
    double MaxMs,
    double Cores,
    double StoreCores,
    long PeakMemoryBytes,
    EngineDuringRun? Engine = null,
    EngineDuringRun? WarmUp = null);

/// <summary>
/// The correlator's engine counters over the measured run (ListAgents before and after): late
/// observations came after their probe was finalised (the probe was cut short), evicted probes
/// were dropped unfinished, held-back turns left batches queued because the engine was full.
/// <see cref="IngestRun.WarmUp"/> holds the same counters over the warm-up: a correlator started
/// straight into the offered rate (its start-up transient).
/// </summary>
public sealed record EngineDuringRun(ulong Late, ulong Evicted, ulong HeldBack);

/// <summary>
/// The benchmark: generates a capture set with the tests' <see cref="SyntheticPath"/> (field report
/// 003's six points), then measures the engine, gRPC ingest into a real correlator writing SQLite,
/// and <c>capture analyze</c> against tshark and tcpdump on the same files.
/// </summary>
public static class BenchHarness
{
    private static readonly IPAddress VmA = IPAddress.Parse("192.168.47.111");
    private static readonly IPAddress VmB = IPAddress.Parse("192.168.47.127");

    public static async Task<BenchResults> RunAsync(BenchSettings settings, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        if (settings.External && settings.Only.Contains("offline"))
        {
            // A comparison quietly left out reads as a pass: a missing tool stops the bench, before minutes of work.
            var missing = ((string[])["tshark", "tcpdump"]).Where(tool => !Installed(tool)).ToList();
            if (missing.Count > 0)
            {
                throw new BenchException($"{string.Join(" and ", missing)} not installed: the comparison cannot run. Install with build/deps.sh --bench, or pass --no-external to leave it out");
            }
        }

        Directory.CreateDirectory(settings.WorkDirectory);
        var results = new BenchResults { Machine = $"{Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}" };

        if (settings.Only.Overlaps(["engine", "offline", "ingest"]))
        {
            log.WriteLine($"bench: generating {settings.Packets:N0} packets in {settings.WorkDirectory}");
        }

        var (path, files) = settings.Only.Overlaps(["engine", "offline", "ingest"]) ? Generate(settings) : (null!, []);
        var inputs = files.Count == 0 ? [] : path.Points.Select((p, i) => new AnalyzeInput(files[i], p.Node, p.Iface, Role(p.Role), null)).ToList();
        results = results with { Files = files.Count, Bytes = files.Sum(f => new FileInfo(f).Length) };

        if (settings.Only.Contains("engine"))
        {
            log.WriteLine("bench: engine");
            results = MeasureEngine(settings, inputs, results);
            log.WriteLine($"bench: engine {results.EngineObsPerSecond:N0} obs/s, {results.BytesPerInFlightProbe:N0} B per in-flight probe");
        }

        if (settings.Only.Contains("offline"))
        {
            log.WriteLine("bench: analyze vs tshark vs tcpdump");
            results = MeasureOffline(settings, inputs, results, log);
            log.WriteLine($"bench: analyze {results.AnalyzeProcessSeconds:0.00} s, tshark {results.TsharkSeconds:0.00} s, tcpdump {results.TcpdumpSeconds:0.00} s");
        }

        if (settings.Only.Contains("history"))
        {
            log.WriteLine($"bench: history, {settings.HistoryDays} days at {settings.HistoryRate:N0} probes/s on {settings.HistoryPaths} paths");
            var history = HistoryBench.Run(settings, log);
            results.Notes.Add($"History (`--only history`): {history.RawProbes:N0} six-point probes stored at {history.RawWriteProbesPerSecond:N0}/s, {history.RawBytesPerProbe:0.0} B/probe on disk; " +
                              $"{settings.HistoryDays} d of rollups at {settings.HistoryRate:N0} probes/s on {settings.HistoryPaths} paths ({history.RollupMinuteRows:N0} minute + {history.RollupHourRows:N0} hour rows) + 1 h raw: {history.DatabaseBytes / 1e6:0} MB");
            results.Notes.AddRange(history.Queries.Select(static q => $"History query `{q.Query}`: {q.MedianMs:0.0} ms median of 5 ({q.Resolution})"));
        }

        if (settings.Only.Contains("ingest"))
        {
            log.WriteLine($"bench: ingest ({settings.Store}), {settings.IngestRuns} runs, {settings.Agents} agents, {settings.IngestSeconds} s each at {settings.IngestRate:N0} obs/s offered");
            var runs = new List<IngestRun>();
            for (var run = 1; run <= settings.IngestRuns; run++)
            {
                var measured = await MeasureIngestAsync(settings, log);
                runs.Add(measured);
                log.WriteLine($"bench: ingest run {run}/{settings.IngestRuns}: {Describe(measured)}");
            }

            results = Summarise(results, settings, runs);
            log.WriteLine($"bench: ingest median {results.IngestObsPerSecond:N0} obs/s, p50 {results.LatencyP50Ms:0} ms, p99 {results.LatencyP99Ms:0} ms " +
                          $"(worst run {runs.Max(r => r.P99Ms):0} ms), peak memory {results.CorrelatorPeakMemoryBytes / 1e6:0} MB (largest run), store server {results.StoreCpuCores:0.00} cores");
        }

        return results;
    }

    public static string Describe(IngestRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        return $"{run.ObsPerSecond:N0} obs/s accepted, capture → queryable p50 {run.P50Ms:0} / p99 {run.P99Ms:0} / max {run.MaxMs:0} ms " +
               $"({run.ProbesStored:N0} probes), correlator {run.Cores:0.00} cores, peak resident {run.PeakMemoryBytes / 1e6:0} MB" +
               (run.Engine is { } e ? $"; engine: {e.Late:N0} late observations, {e.Evicted:N0} evicted, held back {e.HeldBack:N0} turns" : "") +
               (run.WarmUp is { } w ? $"; warm-up (started into the rate): {w.Late:N0} late, {w.Evicted:N0} evicted, held back {w.HeldBack:N0} turns" : "");
    }

    /// <summary>The headline figures: medians of the runs, except peak memory, which is the largest (the bound must hold in every run).</summary>
    private static BenchResults Summarise(BenchResults results, BenchSettings settings, List<IngestRun> runs) => results with
    {
        IngestRuns = runs,
        IngestAgents = settings.Agents,
        IngestOfferedObsPerSecond = settings.IngestRate,
        IngestObservations = (long)Median(runs, static r => r.Observations),
        IngestObsPerSecond = Median(runs, static r => r.ObsPerSecond),
        IngestProbesStored = (long)Median(runs, static r => r.ProbesStored),
        LatencyP50Ms = Median(runs, static r => r.P50Ms),
        LatencyP99Ms = Median(runs, static r => r.P99Ms),
        LatencyMaxMs = Median(runs, static r => r.MaxMs),
        CorrelatorCpuCores = Median(runs, static r => r.Cores),
        IngestStore = settings.Store,
        StoreCpuCores = Median(runs, static r => r.StoreCores),
        CorrelatorPeakMemoryBytes = runs.Max(static r => r.PeakMemoryBytes),
    };

    private static double Median(List<IngestRun> runs, Func<IngestRun, double> value)
    {
        var sorted = runs.Select(value).Order().ToList();
        return sorted.Count == 0 ? 0 : sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static PointRole Role(string role) => role switch
    {
        "guest" => PointRole.Guest,
        "vif" => PointRole.Vif,
        "bridge" => PointRole.Bridge,
        _ => PointRole.Nic,
    };

    /// <summary>Report 003's path, 1 ms between probes; every 100th reply held 120 ms in the fabric, every 1000th request lost there.</summary>
    private static (SyntheticPath Path, IReadOnlyList<string> Files) Generate(BenchSettings settings)
    {
        var path = new SyntheticPath(SyntheticPath.Report003Points, VmA, VmB)
        {
            HopDelayNs = static (probe, hop, request) => !request && hop == 2 && probe % 100 == 7 ? 120_000_000 : 25_000,
            RequestLostAfter = static probe => probe % 1000 == 999 ? 2 : null,
        };
        var probes = (settings.Packets + 11) / 12;
        var files = path.WritePcaps(settings.WorkDirectory, probes, 1_763_900_000_000_000_000, 1_000_000);
        return (path, files);
    }

    /// <summary>Every echo of the files with catalog interface ids, in capture-time order (what analyze feeds the engine).</summary>
    private static (Observation[] Observations, InterfaceCatalog Catalog) Load(IReadOnlyList<AnalyzeInput> inputs)
    {
        var catalog = new InterfaceCatalog();
        var all = new List<Observation>();
        foreach (var input in inputs)
        {
            var id = catalog.Register(input.Node, input.Iface!, null, input.Role).Id;
            all.AddRange(CaptureFileReader.ReadObservations(input.Path, id).Observations);
        }

        var array = all.ToArray();
        var keys = array.Select(static o => o.TimestampNs).ToArray();
        Array.Sort(keys, array);
        return (array, catalog);
    }

    private static BenchResults MeasureEngine(BenchSettings settings, IReadOnlyList<AnalyzeInput> inputs, BenchResults results)
    {
        var (observations, catalog) = Load(inputs);
        var best = double.MaxValue;
        var bestWithRecords = double.MaxValue;
        long allocated = 0;
        long probes = 0;
        for (var run = 0; run < settings.EngineRuns; run++)
        {
            GC.Collect();
            var before = GC.GetAllocatedBytesForCurrentThread();
            var (seconds, finalized) = RunEngine(observations, catalog, toRecords: false);
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            best = Math.Min(best, seconds);
            probes = finalized;
            GC.Collect();
            bestWithRecords = Math.Min(bestWithRecords, RunEngine(observations, catalog, toRecords: true).Seconds);
        }

        // The ingestion path alone (nothing settles, nothing is finalised): what Add costs, so the
        // rest of the full run's time is the finaliser's.
        var addOnly = double.MaxValue;
        for (var run = 0; run < settings.EngineRuns; run++)
        {
            GC.Collect();
            var engine = new CorrelationEngine(
                new EngineOptions { MaxInFlight = observations.Length, ProbeTimeout = TimeSpan.FromHours(1), Settle = TimeSpan.FromHours(1) },
                catalog);
            var clock = Stopwatch.StartNew();
            foreach (ref readonly var observation in observations.AsSpan())
            {
                engine.Add(observation, observation.TimestampNs);
            }

            addOnly = Math.Min(addOnly, clock.Elapsed.TotalSeconds);
        }

        return results with
        {
            EngineAddOnlyObsPerSecond = observations.Length / addOnly,
            Packets = observations.Length,
            Probes = probes,
            EngineObsPerSecond = observations.Length / best,
            EngineAllocatedBytesPerObs = (double)allocated / observations.Length,
            EngineWithRecordsObsPerSecond = observations.Length / bestWithRecords,
            InFlightProbes = settings.InFlightProbes,
            BytesPerInFlightProbe = InFlightBytes(observations, catalog, settings.InFlightProbes),
        };
    }

    /// <summary>One pass of the engine the way analyze drives it: capture time as arrival, advance every 100 ms.</summary>
    public static (double Seconds, long Finalized) RunEngine(Observation[] observations, InterfaceCatalog catalog, bool toRecords)
    {
        ArgumentNullException.ThrowIfNull(observations);
        var engine = new CorrelationEngine(new EngineOptions(), catalog);
        var finalized = new List<ProbeResult>(4096);
        long count = 0;
        var next = long.MinValue;
        var clock = Stopwatch.StartNew();
        foreach (ref readonly var observation in observations.AsSpan())
        {
            engine.Add(observation, observation.TimestampNs);
            if (observation.TimestampNs >= next)
            {
                engine.Advance(observation.TimestampNs, finalized);
                count += Drain(finalized, catalog, toRecords);
                next = observation.TimestampNs + (long)HopCapture.Analysis.Driver.EngineDriver.AdvanceEvery.TotalNanoseconds;
            }
        }

        engine.Flush(finalized);
        count += Drain(finalized, catalog, toRecords);
        return (clock.Elapsed.TotalSeconds, count);
    }

    private static int Drain(List<ProbeResult> finalized, InterfaceCatalog catalog, bool toRecords)
    {
        var count = finalized.Count;
        if (toRecords)
        {
            foreach (var result in finalized)
            {
                HopCapture.Contracts.Mapping.ContractMapping.ToRecord(result, catalog);
            }
        }

        finalized.Clear();
        return count;
    }

    /// <summary>
    /// Managed heap growth with <paramref name="probes"/> complete six-point probes held in flight
    /// (settle and timeout far away), divided by the probes: the engine's cost per in-flight probe.
    /// </summary>
    private static double InFlightBytes(Observation[] observations, InterfaceCatalog catalog, int probes)
    {
        var engine = new CorrelationEngine(
            new EngineOptions { MaxInFlight = probes * 2, ProbeTimeout = TimeSpan.FromHours(1), Settle = TimeSpan.FromHours(1) },
            catalog);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var keys = new HashSet<ProbeKey>();
        foreach (ref readonly var observation in observations.AsSpan())
        {
            var key = ProbeKey.Of(observation);
            if (keys.Count >= probes && !keys.Contains(key))
            {
                continue;
            }

            keys.Add(key);
            engine.Add(observation, observation.TimestampNs);
        }

        var held = engine.InFlight;
        keys = null;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(engine);
        return held == 0 ? 0 : (double)(after - before) / held;
    }

    private static BenchResults MeasureOffline(BenchSettings settings, IReadOnlyList<AnalyzeInput> inputs, BenchResults results, TextWriter log)
    {
        // In this process, warm (best of three): the analysis alone, without start-up and JIT.
        var inProcess = Best(() =>
        {
            var clock = Stopwatch.StartNew();
            using var session = new AnalyzeSession(inputs, new EngineOptions(), new AnalyzeSettings(20_000_000, 20, [], []).CreateViews());
            session.Run();
            return clock.Elapsed.TotalSeconds;
        });
        var specs = inputs.Select(static i => $"{i.Node}:{i.Iface}:{i.Role.ToString().ToLowerInvariant()}={i.Path}").ToList();
        // The CLI as installed (build/bench.sh publishes it, ReadyToRun), else the build output run with dotnet.
        var cli = settings.Cli ?? RepoPaths.Executable("Cli", "capture");
        double process = 0;
        if (File.Exists(cli))
        {
            string[] args = [.. specs, "--min-rtt", "20ms"];
            process = Best(() => cli.EndsWith(".dll", StringComparison.Ordinal) ? Time("dotnet", [cli, "analyze", .. args]) : Time(cli, ["analyze", .. args]));
            results.Notes.Add(settings.Cli is null
                ? "`capture analyze` timed as the build output, jitted (`dotnet capture.dll`)"
                : "`capture analyze` timed as installed: `dotnet publish src/Cli -c Release` (ReadyToRun), run as `capture`");
        }
        else
        {
            results.Notes.Add($"{cli} not built: analyze timed in process only");
            process = inProcess;
        }

        double tshark = 0, tcpdump = 0;
        if (settings.External)
        {
            tshark = Best(() => inputs.Sum(i => Time("tshark", ["-r", i.Path, "-T", "fields", "-e", "frame.time_epoch", "-e", "ip.src",
                "-e", "ip.dst", "-e", "icmp.ident", "-e", "icmp.seq", "-e", "icmp.type"])));
            tcpdump = Best(() => inputs.Sum(i => Time("tcpdump", ["-r", i.Path, "-nn", "-q", "-tt"])));
        }
        else
        {
            results.Notes.Add("--no-external: tshark and tcpdump not compared");
        }

        return results with { AnalyzeInProcessSeconds = inProcess, AnalyzeProcessSeconds = process, TsharkSeconds = tshark, TcpdumpSeconds = tcpdump };
    }

    /// <summary>The best of three runs: each tool gets the same chance of a quiet machine.</summary>
    private static double Best(Func<double> run) => Enumerable.Range(0, 3).Min(_ => run());

    private static bool Installed(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, tool)));

    /// <summary>Wall time of a process whose stdout goes nowhere (read and dropped, as > /dev/null would).</summary>
    private static double Time(string file, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {file}");
        var stderr = process.StandardError.ReadToEndAsync();
        var buffer = new char[1 << 16];
        while (process.StandardOutput.Read(buffer, 0, buffer.Length) > 0)
        {
        }

        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within 5 minutes");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed with exit code {process.ExitCode}: {stderr.Result.Trim()}");
        }

        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>
    /// N agents (the report 003 nodes, round-robin) stream through the real ingest protocol into the
    /// real correlator binary, run as its own process as it is deployed (server GC, SQLite WAL file,
    /// shipped engine settings); capture time is the wall clock when the probe is made, so "capture ts →
    /// queryable" is measured by polling the database. The correlator's CPU time and peak memory
    /// are read from /proc.
    /// </summary>
    private static async Task<IngestRun> MeasureIngestAsync(BenchSettings settings, TextWriter log)
    {
        var time = TimeProvider.System;
        await using var store = await IngestStore.CreateAsync(settings.Store, settings.WorkDirectory);
        using var correlator = CorrelatorProcess.Start(store.CorrelatorArguments, log);
        var address = await correlator.ListeningAsync(TimeSpan.FromSeconds(60));
        var points = SyntheticPath.Report003Points;
        var obsPerProbe = points.Count * 2;
        var probeIntervalNs = (long)(1e9 * obsPerProbe / settings.IngestRate);

        // Warm-up at the same rate (its own ICMP id), stored before the measurement starts: a
        // correlator runs for months, so its first seconds of JIT are not what is being measured.
        var warmProbes = (long)(settings.IngestWarmupSeconds * 1e9 / probeIntervalNs);
        var warmStartNs = Now(time) + 200_000_000;
        await RunAgentsAsync(address, settings.Agents, points, warmProbes, warmStartNs, probeIntervalNs, time, icmpId: 8);
        var startId = await StoredAsync(store, warmProbes, TimeSpan.FromSeconds(60));

        var totalProbes = (long)(settings.IngestSeconds * 1e9 / probeIntervalNs);
        var startNs = Now(time) + 200_000_000;
        using var stop = new CancellationTokenSource();
        var latencies = new List<double>();
        var poller = Task.Run(() => Poll(store, time, latencies, startId, totalProbes, stop.Token));

        using var queryChannel = HopCapture.IngestClient.IngestChannels.Create(address, null);
        var query = new HopCapture.Protos.Query.QueryClient(queryChannel);
        var engineBefore = (await query.ListAgentsAsync(new HopCapture.Protos.ListAgentsRequest())).Engine;
        var cpuBefore = correlator.CpuSeconds();
        var storeCpuBefore = store.CpuSeconds();
        var clock = Stopwatch.StartNew();
        var loads = await RunAgentsAsync(address, settings.Agents, points, totalProbes, startNs, probeIntervalNs, time, icmpId: 7);
        // From the first probe's capture time (the schedule starts 200 ms after the agents) to the last ack.
        var sendSeconds = (Now(time) - startNs) / 1e9;
        var accepted = loads.Sum(static l => (long)l.Accepted);

        await poller.WaitAsync(TimeSpan.FromSeconds(60)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var busySeconds = clock.Elapsed.TotalSeconds;
        var cpu = correlator.CpuSeconds() - cpuBefore;
        var storeCpu = store.CpuSeconds() - storeCpuBefore;
        await stop.CancelAsync();
        await poller.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        var peakMemory = correlator.PeakResidentBytes();
        var engineAfter = (await query.ListAgentsAsync(new HopCapture.Protos.ListAgentsRequest())).Engine;
        await correlator.StopAsync(TimeSpan.FromSeconds(30));
        latencies.Sort();
        return new IngestRun(
            accepted,
            accepted / sendSeconds,
            latencies.Count,
            Percentile(latencies, 0.50),
            Percentile(latencies, 0.99),
            latencies.Count > 0 ? latencies[^1] : 0,
            busySeconds > 0 ? cpu / busySeconds : 0,
            busySeconds > 0 ? storeCpu / busySeconds : 0,
            peakMemory,
            new EngineDuringRun(engineAfter.Late - engineBefore.Late, engineAfter.Evicted - engineBefore.Evicted, engineAfter.HeldBack - engineBefore.HeldBack),
            new EngineDuringRun(engineBefore.Late, engineBefore.Evicted, engineBefore.HeldBack));
    }

    private static long Now(TimeProvider time) => time.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000 + (time.GetTimestamp() % 1_000_000);

    /// <summary>All agents, each on its own thread; agent a owns the points whose index % agents == a (one node name per agent).</summary>
    private static Task<AnalyzeLoadResult[]> RunAgentsAsync(
        string address, int agents, IReadOnlyList<SyntheticPoint> points, long probes, long startNs, long intervalNs, TimeProvider time, ushort icmpId) =>
        Task.WhenAll(Enumerable.Range(0, agents).Select(a => Task.Factory.StartNew(
            () => RunAgentAsync(address, a, agents, points, probes, startNs, intervalNs, time, icmpId),
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap()));

    private static async Task<AnalyzeLoadResult> RunAgentAsync(
        string address, int agent, int agents, IReadOnlyList<SyntheticPoint> points, long probes, long startNs, long intervalNs, TimeProvider time,
        ushort icmpId)
    {
        await using var loader = new AnalyzeLoader(address);
        var owned = Enumerable.Range(0, points.Count).Where(i => i % agents == agent).ToArray();
        if (owned.Length == 0)
        {
            return new AnalyzeLoadResult(0);
        }

        var node = $"bench{agent}";
        foreach (var i in owned)
        {
            loader.InterfaceAdded(new InterfaceEntry(i, node, points[i].Iface + "-" + i, points[i].Iface + "-" + i, Role(points[i].Role), i));
        }

        var src = HopCapture.Engine.Model.IpAddress128.FromIPAddress(VmA);
        var dst = HopCapture.Engine.Model.IpAddress128.FromIPAddress(VmB);
        for (long k = 0; k < probes; k++)
        {
            var t = startNs + (k * intervalNs);
            if ((k & 255) == 0)
            {
                // Paced to the offered rate: never send a probe before its capture time.
                while (Now(time) < t)
                {
                    Thread.Sleep(1);
                }
            }

            var seq = (ushort)k;
            var hash = (uint)(k >> 16) + 1;
            foreach (var i in owned)
            {
                // Round trips shrink along the path, 20 µs per hop each way.
                var request = new Observation(i, t + (i * 20_000), src, dst, icmpId, seq, hash, EchoType.Request, PacketDirection.Unknown);
                var reply = new Observation(i, t + ((2 * points.Count - i) * 20_000), dst, src, icmpId, seq, hash, EchoType.Reply, PacketDirection.Unknown);
                loader.Add(request, 98, 0);
                loader.Add(reply, 98, 0);
            }
        }

        var load = await loader.CompleteAsync(CancellationToken.None);
        return new AnalyzeLoadResult((long)load.Accepted);
    }

    /// <summary>Waits until <paramref name="expected"/> probes are stored; returns the largest id.</summary>
    private static async Task<long> StoredAsync(IngestStore store, long expected, TimeSpan timeout)
    {
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            var (count, maxId) = store.Stored();
            if (count >= expected || deadline.Elapsed > timeout)
            {
                return maxId;
            }

            await Task.Delay(100);
        }
    }

    private static void Poll(IngestStore store, TimeProvider time, List<double> latencies, long afterId, long expected, CancellationToken cancellationToken)
    {
        var lastId = afterId;
        while (!cancellationToken.IsCancellationRequested && latencies.Count < expected)
        {
            Thread.Sleep(20);
            var rows = store.After(lastId);
            var now = Now(time);
            foreach (var (id, firstTsNs) in rows)
            {
                lastId = id;
                latencies.Add((now - firstTsNs) / 1e6);
            }
        }
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];

    private sealed record AnalyzeLoadResult(long Accepted);
}
