using HopCapture.Correlator.Loss;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Correlator.Storage;

/// <summary>
/// What every results store backend must answer alike: the same records, ids, orders, counts,
/// lookups, path summaries, loss and rollups for the same writes. Runs once per backend in
/// <see cref="StoreBackendSource"/>, on real databases.
/// </summary>
[TestFixtureSource(typeof(StoreBackendSource), nameof(StoreBackendSource.All))]
public class StoreContractTests(Func<StoreBackendFactory> makeFactory)
{
    private static readonly long Start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;
    private const long MinuteNs = 60_000_000_000;

    private StoreBackendFactory _factory = null!;

    [SetUp]
    public void SetUp() => _factory = makeFactory();

    [TearDown]
    public void TearDown() => _factory.Dispose();

    [Test]
    public void Write_ThenRead_SameRecordsIdsOrdersAndCounts()
    {
        var store = _factory.Create(new RetentionOptions());
        var written = Write(store, History(30));

        var queries = new ProbeQueries(store);
        var (newest, matched) = queries.ListProbes(new ProbeFilter(Limit: 5));
        var (slowest, _) = queries.ListProbes(new ProbeFilter(OrderByRtt: true, Limit: 3));
        var (lost, lostMatched) = queries.ListProbes(new ProbeFilter(LostOnly: true, Limit: 100));
        var (path, pathMatched) = queries.ListProbes(new ProbeFilter(Src: "10.0.1.1", Dst: "10.0.9.9", SinceNs: Start + (10 * MinuteNs), Limit: 100));
        Assert.Multiple(() =>
        {
            Assert.That(written.Select(static r => r.Id), Is.Ordered.Ascending.And.Unique.And.All.GreaterThan(0));
            Assert.That(matched, Is.EqualTo(30));
            Assert.That(newest, Is.EqualTo(written.OrderByDescending(static r => r.ArrivalNs).ThenByDescending(static r => r.Id).Take(5)));
            Assert.That(slowest, Is.EqualTo(written.OrderByDescending(static r => r.RttNs).ThenByDescending(static r => r.Id).Take(3)));
            Assert.That(lostMatched, Is.EqualTo(written.Count(static r => !r.Answered)));
            Assert.That(lost, Is.EquivalentTo(written.Where(static r => !r.Answered)));
            Assert.That(pathMatched, Is.EqualTo(written.Count(r => r.Src == "10.0.1.1" && r.ArrivalNs >= Start + (10 * MinuteNs))));
            Assert.That(path, Is.EquivalentTo(written.Where(r => r.Src == "10.0.1.1" && r.ArrivalNs >= Start + (10 * MinuteNs))));
            Assert.That(queries.GetById(written[7].Id), Is.EqualTo(written[7]));
            Assert.That(queries.GetById(99_999), Is.Null);
            Assert.That(queries.Lookup(new ProbeLookupKey(written[4].Src, written[4].Dst, (int)written[4].Key.IcmpSeq, -1, 0)), Is.EqualTo(written[4]));
        });
    }

    [Test]
    public void Pages_TiesAcrossPageBoundaries_EveryMatchOnceInListProbesOrderAndNothingStoredMeanwhile()
    {
        var store = _factory.Create(new RetentionOptions());
        // Arrivals in threes and capture times in pairs, so pages of 4 cut through both ties.
        var records = History(30);
        for (var n = 0; n < records.Count; n++)
        {
            records[n].ArrivalNs = Start + (n / 3 * MinuteNs);
            records[n].FirstTsNs = records[n].ArrivalNs - (n % 3 / 2 * 1000);
        }

        var written = Write(store, records);
        var queries = new ProbeQueries(store);
        var filter = new ProbeFilter(Dst: "10.0.9.9", SinceNs: Start + MinuteNs);
        var expected = queries.ListProbes(filter with { Limit = 0 }).Probes;

        var pages = new List<List<ProbeRecord>>();
        foreach (var page in queries.Pages(filter, pageSize: 4))
        {
            pages.Add(page);
            if (pages.Count == 1)
            {
                // Stored after the export began, one newer and one older than its cursor: both left out.
                var later = History(2, seqBase: 500);
                later[0].ArrivalNs = Start + (40 * MinuteNs);
                later[1].ArrivalNs = Start + (2 * MinuteNs);
                Write(store, later);
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(expected, Has.Count.EqualTo(27));
            Assert.That(expected, Is.EqualTo(written.Where(static r => r.ArrivalNs >= Start + MinuteNs)
                .OrderByDescending(static r => r.ArrivalNs).ThenByDescending(static r => r.FirstTsNs).ThenByDescending(static r => r.Id)));
            Assert.That(pages.SelectMany(static p => p), Is.EqualTo(expected));
            Assert.That(pages.Select(static p => p.Count), Is.EqualTo(new[] { 4, 4, 4, 4, 4, 4, 3 }));
        });
    }

    [Test]
    public void Write_ReplayedProbeStoredAlready_SkippedWithIdZero()
    {
        var store = _factory.Create(new RetentionOptions());
        var written = Write(store, History(6));
        var again = written[2].Clone();
        again.ArrivalNs += MinuteNs; // a replayed probe arrives again, later
        var fresh = History(7)[6];

        using var session = store.OpenWriter();
        var duplicates = session.Write([again, fresh], replayedThroughNs: long.MaxValue);

        Assert.Multiple(() =>
        {
            Assert.That(duplicates, Is.EqualTo(1));
            Assert.That(again.Id, Is.Zero);
            Assert.That(fresh.Id, Is.GreaterThan(written[^1].Id));
            Assert.That(new ProbeQueries(store).ListProbes(new ProbeFilter()).Matched, Is.EqualTo(7));
        });
    }

    [Test]
    public void ListPathsAndLoss_FromRows_MatchTheRecordsWritten()
    {
        var store = _factory.Create(new RetentionOptions());
        var written = Write(store, History(40));

        var paths = new ProbeQueries(store).ListPaths(0, 0).Paths;
        var loss = new LossQueries(store).ListLoss(null, null, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(paths.Select(static p => p.Src), Is.EqualTo(new[] { "10.0.0.1", "10.0.1.1", "10.0.2.1" }));
            Assert.That(paths.Sum(static p => (long)p.Probes), Is.EqualTo(40));
            Assert.That(paths.Sum(static p => (long)p.Lost), Is.EqualTo(written.Count(static r => !r.Answered)));
            Assert.That(loss.Paths.Sum(static p => (long)p.Lost), Is.EqualTo(written.Count(static r => !r.Answered)));
        });
    }

    [Test]
    public void Rollups_AfterRestart_KeptAndStillAddingUp()
    {
        var store = _factory.Create(new RetentionOptions());
        var written = Write(store, History(20));
        var reopened = _factory.Reopen();
        Write(reopened, History(20, firstMinute: 10, seqBase: 1000)); // same minutes again: rows loaded, not replaced

        using var session = reopened.OpenRead(CancellationToken.None);
        var minutes = session.Rollups(RollupWidth.Minute, null, null, 0, 0).ToList();
        var hours = session.Rollups(RollupWidth.Hour, null, null, 0, 0).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(minutes.Sum(static r => r.Probes), Is.EqualTo(40));
            Assert.That(hours.Sum(static r => r.Probes), Is.EqualTo(40));
            Assert.That(minutes.Sum(static r => r.Lost), Is.EqualTo(2 * written.Count(static r => !r.Answered)));
            Assert.That(minutes.Sum(static r => r.Rtt.Count), Is.EqualTo(40 - (2 * written.Count(static r => !r.Answered))));
            Assert.That(minutes.Select(static r => r.BucketNs % MinuteNs), Is.All.Zero);
        });
    }

    [Test]
    public void Missing_IdDroppedByRetentionOrPastTheNewest_SaysWhichInOneLine()
    {
        var store = _factory.Create(new RetentionOptions { Raw = TimeSpan.FromDays(1), MaxBytes = 0 });
        var dropped = Write(store, History(5));
        var kept = Write(store, History(5, firstMinute: 3 * 1440, seqBase: 100));
        using (var session = store.OpenWriter())
        {
            session.ApplyRetention(Start + (((3 * 1440) + 10) * MinuteNs));
        }

        var queries = new ProbeQueries(store);
        var newest = kept[^1].Id;
        Assert.Multiple(() =>
        {
            Assert.That(queries.GetById(dropped[2].Id), Is.Null);
            Assert.That(queries.Missing(dropped[2].Id), Is.EqualTo(
                $"no probe with id {dropped[2].Id} is stored: retention dropped it (raw probes are kept from id {kept[0].Id}, arrived 2026-01-04 00:00 UTC; " +
                "Correlator:Retention); 'capture paths' and 'capture loss' over its window read the rollups"));
            Assert.That(queries.Missing(newest + 10), Is.EqualTo($"no probe with id {newest + 10} is stored (the newest is {newest})"));
            Assert.That(queries.GetById(kept[0].Id), Is.EqualTo(kept[0]));
        });
    }

    /// <summary><paramref name="count"/> probes one a minute from <paramref name="firstMinute"/>, round robin on three paths, every fifth lost.</summary>
    private static List<ProbeRecord> History(int count, int firstMinute = 0, int seqBase = 0)
    {
        var records = new List<ProbeRecord>(count);
        for (var n = 0; n < count; n++)
        {
            var src = $"10.0.{n % 3}.1";
            var record = n % 5 == 4 ? Records.Lost(src, "10.0.9.9") : Records.Answered(src, "10.0.9.9", slowMs: 1 + n);
            record.Key.IcmpSeq = (uint)(seqBase + n);
            record.ArrivalNs = Start + ((firstMinute + n) * MinuteNs) + 1000;
            record.FirstTsNs = record.ArrivalNs - 500;
            records.Add(record);
        }

        return records;
    }

    private static List<ProbeRecord> Write(IResultsStore store, List<ProbeRecord> records)
    {
        using var session = store.OpenWriter();
        session.Write(records, replayedThroughNs: 0);
        return records;
    }
}
