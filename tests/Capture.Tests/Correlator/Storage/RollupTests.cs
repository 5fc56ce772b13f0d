using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Loss;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using HopCapture.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace HopCapture.Tests.Correlator.Storage;

/// <summary>
/// Rollups and their retention on a real SQLite file with a fake clock: a month of probes in
/// seconds, written through the write session as the store writer does, retention applied daily,
/// and windows beyond the raw retention answered from rollups with their resolution named.
/// </summary>
public class RollupTests
{
    private const long HourNs = 3_600_000_000_000;
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private SqliteBackendFactory _factory = null!;
    private FakeTimeProvider _clock = null!;

    [SetUp]
    public void SetUp()
    {
        _factory = new SqliteBackendFactory();
        _clock = new FakeTimeProvider(Start);
    }

    [TearDown]
    public void TearDown() => _factory.Dispose();

    [Test]
    public void Month_RawWeekRollupsTwentyDays_WindowsBeyondRawFromRollupsAndOldRollupsDeleted()
    {
        var store = _factory.Create(new RetentionOptions { Raw = TimeSpan.FromDays(7), Rollups = TimeSpan.FromDays(20), MaxBytes = 0 });
        var written = new List<ProbeRecord>();
        var passes = new List<RetentionPass>();
        var history = new HistoryProbes(seed: 5);
        using (var session = store.OpenWriter())
        {
            for (var hour = 0; hour < 31 * 24; hour++)
            {
                _clock.Advance(TimeSpan.FromHours(1));
                var batch = Enumerable.Range(0, 6).Select(i => history.Next(i % 3, _clock.NowNs() - 1_000_000_000 + i)).ToList();
                session.Write(batch, 0);
                written.AddRange(batch);
                if (hour % 24 == 23)
                {
                    passes.Add(session.ApplyRetention(_clock.NowNs()));
                }
            }
        }

        var now = _clock.NowNs();
        var queries = new ProbeQueries(store, _clock);
        var loss = new LossQueries(store, _clock);
        long Since(int days) => now - (days * 24 * HourNs);
        var recent = queries.ListPaths(Since(3), 0);
        var older = queries.ListPaths(Since(14), 0);
        var all = queries.ListPaths(0, 0);
        var olderLoss = loss.ListLoss(null, null, Since(14), 0);
        var olderFreezes = loss.ListFreezes(null, null, Since(14), 0, 1);
        using var read = store.OpenRead(CancellationToken.None);
        var oldestMinute = read.Rollups(RollupWidth.Minute, null, null, 0, 0).Min(static r => r.BucketNs);
        long Count(long sinceNs, Func<ProbeRecord, bool>? where = null) => written.Count(r => r.ArrivalNs >= sinceNs && (where?.Invoke(r) ?? true));

        Assert.Multiple(() =>
        {
            Assert.That(recent.Resolution, Is.EqualTo("raw"), "3 days: inside the raw week and few probes");
            Assert.That(recent.Paths.Sum(static p => (long)p.Probes), Is.EqualTo(Count(Since(3))));
            Assert.That(older.Resolution, Is.Not.EqualTo("raw"), "14 days: beyond the raw week");
            Assert.That(older.Paths.Sum(static p => (long)p.Probes), Is.EqualTo(Count(Since(14))), "every probe of 14 days is in the rollups");
            Assert.That(older.Paths.Sum(static p => (long)p.Lost), Is.EqualTo(Count(Since(14), static r => !r.Answered)));
            Assert.That(olderLoss.Resolution, Is.EqualTo(older.Resolution));
            Assert.That(olderLoss.Paths.Sum(static p => (long)p.Lost), Is.EqualTo(Count(Since(14), static r => !r.Answered)));
            Assert.That(olderFreezes.Resolution, Is.EqualTo(older.Resolution));
            Assert.That(olderFreezes.Freezes.Sum(static f => (long)f.Lost), Is.EqualTo(Count(Since(14), static r => !r.Answered)));
            Assert.That(all.Resolution, Is.Not.EqualTo("raw"));
            Assert.That(oldestMinute, Is.GreaterThanOrEqualTo(now - (20 * 24 * HourNs) - HourNs), "rollups older than 20 days deleted");
            Assert.That(all.Paths.Sum(static p => (long)p.Probes), Is.EqualTo(written.Count(r => r.ArrivalNs >= oldestMinute)));
            Assert.That(passes.Sum(static p => p.RollupRowsDropped), Is.GreaterThan(0));
            Assert.That(passes[^1].Partitions, Is.InRange(7, 9), "raw kept a week of days");
        });
    }

    [Test]
    public void PathSummary_FromRollups_MatchesRawWithinOnePercent()
    {
        var store = _factory.Create(new RetentionOptions());
        var history = new HistoryProbes(seed: 9);
        var records = Enumerable.Range(0, 3000).Select(i => history.Next(0, _clock.NowNs() + (i * 100_000_000L))).ToList();
        using (var session = store.OpenWriter())
        {
            session.Write(records, 0);
        }

        var raw = new ProbeQueries(store, _clock).ListPaths(0, 0).Paths.Single();
        using var read = store.OpenRead(CancellationToken.None);
        var rolled = RollupSummaries.Paths(read.Rollups(RollupWidth.Minute, null, null, 0, 0)).Single();

        Assert.Multiple(() =>
        {
            Assert.That((rolled.Probes, rolled.Answered, rolled.Lost, rolled.RttMaxNs, rolled.WorstProbeId, rolled.DominantSegment, rolled.DominantLeg, rolled.FirstTsNs, rolled.LastTsNs),
                Is.EqualTo((raw.Probes, raw.Answered, raw.Lost, raw.RttMaxNs, raw.WorstProbeId, raw.DominantSegment, raw.DominantLeg, raw.FirstTsNs, raw.LastTsNs)));
            Assert.That(rolled.Verdicts, Is.EqualTo(raw.Verdicts));
            Assert.That(rolled.RttP50Ns, Is.EqualTo(raw.RttP50Ns).Within(1).Percent);
            Assert.That(rolled.RttP90Ns, Is.EqualTo(raw.RttP90Ns).Within(1).Percent);
            Assert.That(rolled.RttP99Ns, Is.EqualTo(raw.RttP99Ns).Within(1).Percent);
        });
    }

    [Test]
    public void ListPathsAndLoss_WindowOverTheRawQueryLimit_AnsweredFromRollupsWithTheSameCounts()
    {
        var store = _factory.Create(new RetentionOptions());
        var history = new HistoryProbes(seed: 11);
        var records = Enumerable.Range(0, 3000).Select(i => history.Next(i % 3, _clock.NowNs() + (i * 100_000_000L))).ToList();
        using (var session = store.OpenWriter())
        {
            session.Write(records, 0);
        }

        _clock.Advance(TimeSpan.FromMinutes(10));
        var raw = new ProbeQueries(store, _clock).ListPaths(0, 0);
        var rolled = new ProbeQueries(store, _clock, rawProbeLimit: 2999).ListPaths(0, 0);
        var rolledLoss = new LossQueries(store, _clock, rawProbeLimit: 2999).ListLoss(null, null, 0, 0);
        Assert.Multiple(() =>
        {
            Assert.That(raw.Resolution, Is.EqualTo("raw"), "3,000 probes, under the default 100,000");
            Assert.That(rolled.Resolution, Is.Not.EqualTo("raw"), "3,000 probes, over a limit of 2,999");
            Assert.That(rolled.Paths.Select(static p => (p.Src, p.Dst, p.Probes, p.Lost)), Is.EquivalentTo(raw.Paths.Select(static p => (p.Src, p.Dst, p.Probes, p.Lost))));
            Assert.That(rolledLoss.Resolution, Is.EqualTo(rolled.Resolution));
            Assert.That(rolledLoss.Paths.Sum(static p => (long)p.Lost), Is.EqualTo(records.Count(static r => !r.Answered)));
        });
    }

    [Test]
    public void Write_RoundTripsOverSixDecadesInOneMinute_HistogramSavedWhole()
    {
        var store = _factory.Create(new RetentionOptions());
        var history = new HistoryProbes(seed: 3);
        // 600 probes in 30 s on one path, round trips from 1 µs to 1 s: hundreds of histogram buckets.
        var records = Enumerable.Range(0, 600).Select(i =>
        {
            var record = history.Next(0, _clock.NowNs() + (i * 50_000_000L));
            record.RttNs = (long)(1_000 * Math.Pow(10, i / 100.0));
            return record;
        }).ToList();
        using (var session = store.OpenWriter())
        {
            session.Write(records, 0);
        }

        using var read = store.OpenRead(CancellationToken.None);
        var rolled = RollupSummaries.Paths(read.Rollups(RollupWidth.Minute, null, null, 0, 0)).Single();
        Assert.Multiple(() =>
        {
            Assert.That(rolled.Probes, Is.EqualTo(600));
            Assert.That(rolled.RttMaxNs, Is.EqualTo(records.Where(r => r.Answered).Max(r => r.RttNs)));
        });
    }
}
