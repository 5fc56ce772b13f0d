using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Loss;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// Day partitions and raw retention on a real SQLite file with a fake clock: a month of hourly
/// probes in seconds, appended and retained the way the store writer does (its appender, then a
/// retention pass), queried through the real query classes.
/// </summary>
public class RetentionTests
{
    private const int PerHour = 4;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private string _directory = "";
    private string _database = "";
    private FakeTimeProvider _clock = null!;
    private readonly List<ProbeRecord> _written = [];

    [SetUp]
    public void SetUp()
    {
        _directory = Directory.CreateTempSubdirectory("hopcapture-retention-").FullName;
        _database = Path.Combine(_directory, "probes.db");
        _clock = new FakeTimeProvider(Start);
        _written.Clear();
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public void Month_HourlyProbes_DailyPartitionsAndOnlyTheLastWeekKept()
    {
        var store = Store();
        var retention = new RawRetention(new RetentionOptions { Raw = TimeSpan.FromDays(7), MaxBytes = 0 }, NullLogger.Instance);
        var dropped = new List<RetentionPass>();

        RunHours(store, 31 * 24, retention, dropped);

        using var connection = store.Open();
        var partitions = ProbePartitions.List(connection);
        var nowNs = NowNs();
        var cutoffNs = nowNs - (long)TimeSpan.FromDays(7).TotalNanoseconds;
        Assert.Multiple(() =>
        {
            // 2026-01-01 … 2026-02-01 seen; a day goes once its end is older than a week.
            Assert.That(partitions.Select(static p => p.Name).ToList(), Is.EqualTo(Enumerable.Range(0, 8)
                .Select(d => "probes_" + Start.AddDays(31 - 7 + d).ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture)).ToList()));
            Assert.That(partitions, Has.All.Matches<ProbePartition>(p => p.EndNs > cutoffNs));
            Assert.That(dropped.Sum(static p => p.DroppedByAge), Is.EqualTo(31 + 1 - 8));
            Assert.That(dropped.Sum(static p => p.DroppedBySize), Is.Zero);
        });

        var kept = _written.Where(r => r.ArrivalNs >= partitions[0].StartNs).ToList();
        var (all, matched) = new ProbeQueries(store).ListProbes(new ProbeFilter(Limit: 100_000));
        Assert.Multiple(() =>
        {
            Assert.That(matched, Is.EqualTo(kept.Count));
            Assert.That(all.Select(static r => r.Id).Order(), Is.EqualTo(kept.Select(static r => r.Id).Order()));
        });
    }

    [Test]
    public void WindowAcrossPartitions_EveryQuery_AnswersAsTheRowsInIt()
    {
        var store = Store();
        RunHours(store, 5 * 24, retention: null, dropped: null);
        // 1 day 12 h before the end … 12 h before: three partitions.
        var sinceNs = NowNs() - (long)TimeSpan.FromHours(60).TotalNanoseconds;
        var untilNs = NowNs() - (long)TimeSpan.FromHours(12).TotalNanoseconds;
        var inWindow = _written.Where(r => r.ArrivalNs >= sinceNs && r.ArrivalNs <= untilNs).ToList();
        var queries = new ProbeQueries(store);

        var (newest, matched) = queries.ListProbes(new ProbeFilter(SinceNs: sinceNs, UntilNs: untilNs, Limit: 10));
        var (lost, lostMatched) = queries.ListProbes(new ProbeFilter(SinceNs: sinceNs, UntilNs: untilNs, LostOnly: true, Limit: 100_000));
        var paths = queries.ListPaths(sinceNs, untilNs).Paths;
        var loss = new LossQueries(store).ListLoss(null, null, sinceNs, untilNs);
        var oldest = _written[0];
        var byId = queries.GetById(oldest.Id);
        var lookedUp = queries.Lookup(new ProbeLookupKey(oldest.Src, oldest.Dst, (int)oldest.Key.IcmpSeq, (int)oldest.Key.IcmpId, oldest.FirstTsNs));

        Assert.Multiple(() =>
        {
            Assert.That(matched, Is.EqualTo(inWindow.Count));
            Assert.That(newest.Select(static r => r.Id), Is.EqualTo(inWindow.OrderByDescending(static r => r.ArrivalNs).ThenByDescending(static r => r.Id).Take(10).Select(static r => r.Id)));
            Assert.That(lostMatched, Is.EqualTo(inWindow.Count(static r => !r.Answered)));
            Assert.That(lost.Select(static r => r.Id).Order(), Is.EqualTo(inWindow.Where(static r => !r.Answered).Select(static r => r.Id).Order()));
            Assert.That(paths.Select(static p => (p.Src, p.Dst, (long)p.Probes, (long)p.Lost)), Is.EquivalentTo(inWindow.GroupBy(static r => (r.Src, r.Dst))
                .Select(static g => (g.Key.Src, g.Key.Dst, (long)g.Count(), (long)g.Count(static r => !r.Answered)))));
            Assert.That(loss.Paths.Sum(static p => (long)p.Lost), Is.EqualTo(inWindow.Count(static r => !r.Answered)));
            Assert.That(byId?.FirstTsNs, Is.EqualTo(oldest.FirstTsNs), "GetById reaches the oldest partition");
            Assert.That(lookedUp?.Id, Is.EqualTo(oldest.Id), "Lookup reaches the oldest partition");
        });
    }

    [Test]
    public void OverMaxBytes_OldestDaysDroppedFirst_TodayKept()
    {
        var store = Store();
        RunHours(store, 6 * 24, retention: null, dropped: null, perHour: 40);
        using var connection = store.Open();
        var before = ProbePartitions.List(connection);
        var used = SqliteResultsStore.UsedBytes(connection);
        var limit = used / 2;

        var pass = new RawRetention(new RetentionOptions { Raw = TimeSpan.Zero, MaxBytes = limit }, NullLogger.Instance).Apply(connection, NowNs());

        var after = ProbePartitions.List(connection);
        Assert.Multiple(() =>
        {
            Assert.That(pass.DroppedBySize, Is.GreaterThan(0));
            Assert.That(pass.DroppedByAge, Is.Zero, "Raw 0 keeps by age forever");
            Assert.That(after, Is.EqualTo(before.Skip(pass.DroppedBySize).ToList()), "oldest first");
            Assert.That(after[^1].Name, Is.EqualTo(before[^1].Name), "the partition being written is kept");
            Assert.That(pass.UsedBytes, Is.LessThanOrEqualTo(limit));
            Assert.That(pass.Partitions, Is.EqualTo(after.Count));
        });
    }

    [Test]
    public void Restart_AfterDrops_EverythingKeptAndIdsNeverReused()
    {
        var store = Store();
        var retention = new RawRetention(new RetentionOptions { Raw = TimeSpan.FromDays(2) }, NullLogger.Instance);
        RunHours(store, 5 * 24, retention, dropped: null);
        var queries = new ProbeQueries(store);
        var before = queries.ListPaths(0, 0).Paths;
        var (probesBefore, countBefore) = queries.ListProbes(new ProbeFilter(Limit: 100_000));
        var highest = _written.Max(static r => r.Id);

        // Every kept partition dropped too: the next id must still be above all ids ever given.
        using (var connection = store.Open())
        {
            foreach (var partition in ProbePartitions.List(connection).Take(1))
            {
                ProbePartitions.Drop(connection, partition.Name);
            }
        }

        SqliteConnection.ClearAllPools();
        var reopened = Store();
        var (probesAfter, countAfter) = new ProbeQueries(reopened).ListProbes(new ProbeFilter(Limit: 100_000));
        Assert.That(countAfter, Is.LessThan(countBefore), "the dropped partition is gone after restart");

        RunHours(reopened, 1, retention, dropped: null);
        var after = new ProbeQueries(reopened);
        Assert.Multiple(() =>
        {
            Assert.That(_written[^1].Id, Is.GreaterThan(highest));
            Assert.That(probesAfter.Select(static r => r.Id), Is.SubsetOf(probesBefore.Select(static r => r.Id)));
            Assert.That(after.ListPaths(0, 0).Paths.Select(static p => (p.Src, p.Dst)), Is.EqualTo(before.Select(static p => (p.Src, p.Dst))));
            Assert.That(after.GetById(_written[^1].Id)?.Src, Is.EqualTo(_written[^1].Src));
        });
    }

    [Test]
    public void MigrateV3_SingleProbesTable_RewrittenCompactIntoDayPartitionsWithRollups()
    {
        ProbeRecord legacy;
        using (var connection = new SqliteConnection($"Data Source={_database};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE probes(id INTEGER PRIMARY KEY, src TEXT NOT NULL, dst TEXT NOT NULL, icmp_id INTEGER NOT NULL,
                    icmp_seq INTEGER NOT NULL, first_ts_ns INTEGER NOT NULL, rtt_ns INTEGER NOT NULL, answered INTEGER NOT NULL,
                    verdict_kind TEXT NOT NULL, verdict_cost_ns INTEGER NOT NULL, lost_in TEXT NOT NULL, imported INTEGER NOT NULL,
                    record BLOB NOT NULL, verdict_leg TEXT NOT NULL DEFAULT '');
                CREATE INDEX ix_probes_time ON probes(first_ts_ns);
                CREATE TABLE agents(node TEXT NOT NULL, instance TEXT NOT NULL, last_seen_ns INTEGER NOT NULL, hello BLOB NOT NULL, PRIMARY KEY(node));
                CREATE TABLE journal_state(id INTEGER PRIMARY KEY CHECK (id = 1), checkpoint INTEGER NOT NULL);
                CREATE TABLE agent_batches(node TEXT NOT NULL, instance TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(node, instance));
                PRAGMA user_version = 3;
                """;
            command.ExecuteNonQuery();
            var record = Records.Answered("10.0.0.1", "10.0.0.2");
            record.FirstTsNs = NowNs() - (long)TimeSpan.FromDays(3).TotalNanoseconds;
            record.Id = 0;
            record.Key.IcmpId = 1;
            record.Key.IcmpSeq = 2;
            legacy = record.Clone();
            legacy.Id = 41;
            legacy.ArrivalNs = record.FirstTsNs;
            command.CommandText = "INSERT INTO probes(id, src, dst, icmp_id, icmp_seq, first_ts_ns, rtt_ns, answered, verdict_kind, verdict_cost_ns, lost_in, imported, record, verdict_leg) " +
                                  "VALUES (41, $src, $dst, 1, 2, $ts, 5, 1, 'fabric', 5, '', 0, $record, 'reply')";
            command.Parameters.AddWithValue("$src", record.Src);
            command.Parameters.AddWithValue("$dst", record.Dst);
            command.Parameters.AddWithValue("$ts", record.FirstTsNs);
            command.Parameters.AddWithValue("$record", Google.Protobuf.MessageExtensions.ToByteArray(record));
            command.ExecuteNonQuery();
        }

        var store = Store();
        RunHours(store, 2, retention: null, dropped: null);
        var queries = new ProbeQueries(store);
        var (all, matched) = queries.ListProbes(new ProbeFilter(Limit: 1000));
        var (recent, _) = queries.ListProbes(new ProbeFilter(SinceNs: NowNs() - (long)TimeSpan.FromDays(1).TotalNanoseconds, Limit: 1000));
        using var read = store.Open();
        Assert.Multiple(() =>
        {
            // v4 kept the table as a legacy partition; v5 rewrites it compact into the day of its rows' time.
            Assert.That(ProbePartitions.List(read).Select(static p => p.Name).First(), Is.EqualTo(ProbePartitions.NameOf(ProbePartitions.DayStart(legacy.FirstTsNs))));
            Assert.That(queries.GetById(41), Is.EqualTo(legacy), "the whole record survives the rewrite");
            Assert.That(MinuteRollups(store).Sum(static r => r.Probes), Is.EqualTo(1), "the legacy probe is counted into the rollups (the others were appended past the write session)");
            Assert.That(matched, Is.EqualTo(_written.Count + 1));
            Assert.That(queries.GetById(41)?.Src, Is.EqualTo("10.0.0.1"));
            Assert.That(_written.Select(static r => r.Id), Has.All.GreaterThan(41), "new ids continue above the legacy rows'");
            Assert.That(all.Select(static r => r.Id), Does.Contain(41L));
            Assert.That(recent.Select(static r => r.Id), Does.Not.Contain(41L), "legacy rows are timed by their capture time");
        });
    }

    [TestCase("Raw", "-1.00:00:00", "Correlator:Retention:Raw: must be a positive time span")]
    [TestCase("MaxBytes", "1000", "Correlator:Retention:MaxBytes: must be 0 (no size limit) or at least 16777216 (got 1000)")]
    [TestCase("CheckEvery", "00:00:00", "Correlator:Retention:CheckEvery: must be positive")]
    [TestCase("RawQueryProbes", "-1", "Correlator:Retention:RawQueryProbes: must be 0 (windows from rollups whenever they cover them) or more (got -1)")]
    public void Validate_BadRetentionKey_NamesIt(string key, string value, string expected)
    {
        var options = new CorrelatorOptions { Plaintext = true, Listen = "127.0.0.1:0" };
        switch (key)
        {
            case "Raw": options.Retention.Raw = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "MaxBytes": options.Retention.MaxBytes = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            case "RawQueryProbes": options.Retention.RawQueryProbes = long.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
            default: options.Retention.CheckEvery = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
        }

        var result = new CorrelatorOptionsValidator().Validate(null, options);

        Assert.That(result.Failures, Has.Some.StartsWith(expected));
        Assert.That(new CorrelatorOptionsValidator().Validate(null, new CorrelatorOptions { Plaintext = true, Listen = "127.0.0.1:0" }).Failures ?? [],
            Has.None.Contains("Retention"), "the defaults are valid");
    }

    private SqliteResultsStore Store()
    {
        var store = new SqliteResultsStore(Options.Create(new CorrelatorOptions { Database = _database }));
        store.Initialize();
        return store;
    }

    private long NowNs() => _clock.NowNs();

    private static List<RollupRow> MinuteRollups(SqliteResultsStore store)
    {
        using var session = store.OpenRead(CancellationToken.None);
        return session.Rollups(RollupWidth.Minute, null, null, 0, 0).ToList();
    }

    /// <summary>Advances the clock hour by hour, appending probes on 3 paths (one in 4 lost) and running retention after each hour.</summary>
    private void RunHours(SqliteResultsStore store, int hours, RawRetention? retention, List<RetentionPass>? dropped, int perHour = PerHour)
    {
        using var connection = store.Open();
        var append = SqliteResultsStore.PrepareAppend(connection);
        try
        {
            for (var h = 0; h < hours; h++)
            {
                _clock.Advance(TimeSpan.FromHours(1));
                using (var transaction = connection.BeginTransaction())
                {
                    for (var i = 0; i < perHour; i++)
                    {
                        var n = _written.Count;
                        var record = n % 4 == 3 ? Records.Lost($"10.0.{n % 3}.1", "10.0.9.9") : Records.Answered($"10.0.{n % 3}.1", "10.0.9.9");
                        record.Key.IcmpSeq = (uint)(n % 65536);
                        record.ArrivalNs = NowNs() + i;
                        // A guest clock far off: capture time says nothing about where the probe is filed.
                        record.FirstTsNs = record.ArrivalNs - (long)TimeSpan.FromDays(40).TotalNanoseconds;
                        record.Id = append.Append(record, transaction);
                        _written.Add(record);
                    }

                    transaction.Commit();
                }

                if (retention?.Apply(connection, NowNs()) is { } pass)
                {
                    dropped?.Add(pass);
                    if (pass.DroppedByAge + pass.DroppedBySize > 0)
                    {
                        append.Reload();
                    }
                }
            }
        }
        finally
        {
            append.Dispose();
        }
    }
}
