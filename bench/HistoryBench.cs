using System.Diagnostics;
using System.Globalization;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Loss;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Bench;

/// <summary>What the history measure found.</summary>
public sealed record HistoryResults(
    long RawProbes,
    double RawWriteProbesPerSecond,
    double RawBytesPerProbe,
    long RollupMinuteRows,
    long RollupHourRows,
    long DatabaseBytes,
    IReadOnlyList<(string Query, string Resolution, double MedianMs)> Queries);

/// <summary>
/// `--only history`: stored history and the query windows over it. Raw probes (six-point, from
/// <see cref="HistoryProbes"/>) go through the real SQLite write session into a file of their own,
/// whose size per probe is the compact layout's cost; the rate is the session's Write time alone
/// (generating the probes is not the store's cost). Then a week of a busy site's rollups (every
/// path's minute and hour rows, as the writer keeps them at --history-rate probes a second, up to
/// now) is written, and --history-raw probes of the last hour on top through the write session, and paths, loss and freezes are timed over 5 m,
/// 1 h and 7 d windows, in process (median of five). A week of raw probes at 10 k/s (6 billion)
/// is not generated: beyond the raw limit every such window is answered from rollups.
/// </summary>
public static class HistoryBench
{
    private const long MinuteNs = 60_000_000_000;
    private const long HourNs = 60 * MinuteNs;

    public static HistoryResults Run(BenchSettings settings, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(log);
        var directory = Path.Combine(settings.WorkDirectory, "history");
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        Directory.CreateDirectory(directory);
        var now = new DateTimeOffset(2026, 6, 8, 12, 0, 0, TimeSpan.Zero);
        var nowNs = now.ToUnixTimeMilliseconds() * 1_000_000;
        var clock = new FixedClock(now);

        // 1. The compact layout's size: raw probes alone, through the real write session.
        // The time is the write session's alone (probes are generated outside it).
        var raw = Store(Path.Combine(directory, "raw.db"));
        var (writing, writerCpu) = WriteRaw(raw, settings.HistoryRawProbes, settings.HistoryPaths, nowNs - HourNs, nowNs, log);
        var rawRate = settings.HistoryRawProbes / writing.TotalSeconds;
        var rawBytes = FileBytes(raw);
        log.WriteLine($"bench: history: {settings.HistoryRawProbes:N0} raw probes in {writing.TotalSeconds:0.0} s ({rawRate:N0}/s), {(double)rawBytes / settings.HistoryRawProbes:0.0} B/probe (page_count*page_size / rows)");
        log.WriteLine($"bench: history: the writing thread's CPU {writerCpu.TotalSeconds:0.00} s ({settings.HistoryRawProbes / writerCpu.TotalSeconds:N0} probes per CPU second; a loaded machine stretches the wall time, not this)");

        // 2. A week of rollups at the site's rate, then the last hour of raw probes.
        var store = Store(Path.Combine(directory, "history.db"));
        var (minutes, hours) = WriteRollups(store, settings, nowNs, log);
        _ = WriteRaw(store, settings.HistoryRawProbes, settings.HistoryPaths, nowNs - HourNs, nowNs, log);
        var size = FileBytes(store);
        log.WriteLine($"bench: history: database {size / 1e6:0.0} MB ({minutes:N0} minute rows, {hours:N0} hour rows, {settings.HistoryRawProbes:N0} raw probes)");

        var queries = new ProbeQueries(store, clock);
        var loss = new LossQueries(store, clock);
        var timed = new List<(string, string, double)>();
        foreach (var (name, window) in new[] { ("5m", TimeSpan.FromMinutes(5)), ("1h", TimeSpan.FromHours(1)), ("7d", TimeSpan.FromDays(7)) })
        {
            var since = nowNs - (long)window.TotalNanoseconds;
            timed.Add(Time($"paths --since {name}", () => queries.ListPaths(since, 0).Resolution));
            timed.Add(Time($"loss --since {name}", () => loss.ListLoss(null, null, since, 0).Resolution));
            timed.Add(Time($"freezes --since {name}", () => loss.ListFreezes(null, null, since, 0, 3).Resolution));
        }

        foreach (var (query, resolution, ms) in timed)
        {
            log.WriteLine($"bench: history: {query}: {ms:0.0} ms median ({resolution})");
        }

        SqliteConnection.ClearAllPools();
        return new HistoryResults(settings.HistoryRawProbes, rawRate, (double)rawBytes / settings.HistoryRawProbes, minutes, hours, size, timed);
    }

    private static SqliteResultsStore Store(string path)
    {
        var store = new SqliteResultsStore(Options.Create(new CorrelatorOptions { Database = path }));
        store.Initialize();
        return store;
    }

    /// <summary>Writes <paramref name="count"/> probes in batches of 1000; returns the wall and thread CPU time spent in the session's Write alone.</summary>
    private static (TimeSpan Wall, TimeSpan Cpu) WriteRaw(SqliteResultsStore store, int count, int paths, long fromNs, long toNs, TextWriter log)
    {
        var probes = new HistoryProbes();
        using var session = store.OpenWriter();
        var step = Math.Max(1, (toNs - fromNs) / Math.Max(1, count));
        var writing = TimeSpan.Zero;
        var cpu = TimeSpan.Zero;
        for (var written = 0; written < count;)
        {
            var batch = Math.Min(1000, count - written);
            var records = Enumerable.Range(written, batch).Select(i => probes.Next(i % paths, fromNs + (i * step))).ToList();
            var started = Stopwatch.GetTimestamp();
            var startedCpu = ThreadCpu.Now();
            session.Write(records, 0);
            cpu += ThreadCpu.Now() - startedCpu;
            writing += Stopwatch.GetElapsedTime(started);
            written += batch;
            if (written % 100_000 == 0)
            {
                log.WriteLine($"bench: history: {written:N0} raw probes written");
            }
        }

        return (writing, cpu);
    }

    /// <summary>Rollup rows as the writer keeps them: per path, one answered row a bucket and a lost row every fifth.</summary>
    private static (long Minutes, long Hours) WriteRollups(SqliteResultsStore store, BenchSettings settings, long nowNs, TextWriter log)
    {
        var random = new Random(3);
        var start = nowNs - ((long)settings.HistoryDays * 24 * HourNs);
        long minutes = 0, hours = 0;
        using var connection = store.Open();
        foreach (var width in new[] { RollupWidth.Hour, RollupWidth.Minute })
        {
            var bucketNs = (long)width * 1_000_000_000L;
            var perBucket = Math.Max(1, (long)settings.HistoryRate * (long)width / settings.HistoryPaths);
            var rows = new List<(RollupWidth, RollupRow)>();
            var bucket = 0L;
            for (var at = start; at < nowNs; at += bucketNs, bucket++)
            {
                for (var path = 0; path < settings.HistoryPaths; path++)
                {
                    var answered = new RollupRow(HistoryProbes.Src(path), HistoryProbes.Dst(path), at, "fabric", "reply", "", "", "")
                    {
                        Probes = perBucket,
                        FirstTsNs = at,
                        LastTsNs = at + bucketNs - 1,
                        WorstId = (bucket * settings.HistoryPaths) + path + 1,
                        WorstRttNs = 900_000 + random.Next(50_000_000),
                        CostNs = perBucket * 400_000,
                    };
                    for (var k = 0; k < 16; k++)
                    {
                        answered.Rtt.Add(500_000 + random.Next(600_000), perBucket / 16);
                    }

                    rows.Add((width, answered));
                    if ((bucket + path) % 5 == 0)
                    {
                        rows.Add((width, new RollupRow(answered.Src, answered.Dst, at, "lost:fabric", "", "fabric", "reply", "hv-b/eno1")
                        {
                            Probes = 3,
                            Lost = 3,
                            FirstTsNs = at,
                            LastTsNs = at + 1,
                        }));
                    }
                }

                if (rows.Count >= 20_000)
                {
                    Save(connection, rows);
                    (width == RollupWidth.Minute ? ref minutes : ref hours) += rows.Count;
                    rows.Clear();
                    if (width == RollupWidth.Minute && bucket % 1440 == 0)
                    {
                        log.WriteLine($"bench: history: rollups, day {bucket / 1440 + 1} of {settings.HistoryDays}");
                    }
                }
            }

            Save(connection, rows);
            (width == RollupWidth.Minute ? ref minutes : ref hours) += rows.Count;
        }

        return (minutes, hours);
    }

    private static void Save(SqliteConnection connection, List<(RollupWidth, RollupRow)> rows)
    {
        using var transaction = connection.BeginTransaction();
        SqliteRollups.Save(connection, transaction, rows);
        transaction.Commit();
    }

    private static (string, string, double) Time(string query, Func<string> run)
    {
        var resolution = run(); // warm: JIT and page cache
        var times = new List<double>();
        for (var i = 0; i < 5; i++)
        {
            var stopwatch = Stopwatch.StartNew();
            resolution = run();
            times.Add(stopwatch.Elapsed.TotalMilliseconds);
        }

        times.Sort();
        return (query, resolution, times[2]);
    }

    private static long FileBytes(SqliteResultsStore store)
    {
        using var connection = store.Open();
        SqliteResultsStore.Execute(connection, "PRAGMA wal_checkpoint(TRUNCATE);");
        return Pragma(connection, "page_count") * Pragma(connection, "page_size");
    }

    private static long Pragma(SqliteConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}

/// <summary>The calling thread's time on a CPU (Linux schedstat, ns): what the write path costs on one core, whatever else the machine runs.</summary>
internal static class ThreadCpu
{
    public static TimeSpan Now()
    {
        var runtimeNs = long.Parse(File.ReadAllText("/proc/thread-self/schedstat").Split(' ')[0], CultureInfo.InvariantCulture);
        return TimeSpan.FromTicks(runtimeNs / 100);
    }
}

/// <summary>"Now" at the generated history's end, for the query windows.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
