using System.Globalization;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Correlator.Storage;

/// <summary>The SQLite compact probe layout on real files: every field comes back, and a six-point probe costs at most 200 bytes.</summary>
public class CompactLayoutTests
{
    private static readonly long Start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;

    private SqliteBackendFactory _factory = null!;

    [SetUp]
    public void SetUp() => _factory = new SqliteBackendFactory();

    [TearDown]
    public void TearDown() => _factory.Dispose();

    [Test]
    public void GetById_AnsweredLostAndOddTexts_EqualToTheRecordStored()
    {
        var store = _factory.Create(new RetentionOptions());
        var history = new HistoryProbes(seed: 7);
        var records = Enumerable.Range(0, 120).Select(i => history.Next(i % 3, Start + (i * 1_000_000_000L))).ToList();
        records[5].Verdict.Text = "a text the engine never writes, ünïcode";
        records[6].Duplicates = 3;
        records[7].Key.PayloadHash = 0xDEADBEEF;
        records[8].Imported = true;
        records[9].Points[2].HasRequest = false;
        records[9].Points[2].RequestTsNs = 0;
        using (var session = store.OpenWriter())
        {
            session.Write(records, replayedThroughNs: 0);
        }

        var queries = new ProbeQueries(store);
        var read = records.Select(r => queries.GetById(r.Id)).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(records.Count(static r => !r.Answered), Is.GreaterThan(0), "lost probes are part of the sample");
            Assert.That(read, Is.EqualTo(records), "explain shows the record exactly as the engine made it");
        });
    }

    [Test]
    public void BytesPerProbe_SixPointProbesAtSteadyState_AtMost200()
    {
        const int probes = 30_000;
        var store = (SqliteResultsStore)_factory.Create(new RetentionOptions());
        var history = new HistoryProbes();
        using (var session = store.OpenWriter())
        {
            for (var batch = 0; batch < probes / 1000; batch++)
            {
                // 20 paths, 50 probes a second each: 30 s of a busy correlator.
                session.Write(Enumerable.Range(0, 1000).Select(i => history.Next(i % 20, Start + (((batch * 1000L) + i) * 1_000_000))).ToList(), 0);
            }
        }

        using var connection = store.Open();
        var bytes = Pragma(connection, "page_count") * Pragma(connection, "page_size");
        var perProbe = (double)bytes / probes;
        TestContext.Out.WriteLine($"{probes} six-point probes: {bytes} bytes on disk, {perProbe:0.0} bytes a probe");
        Assert.That(perProbe, Is.LessThanOrEqualTo(200), $"whole file (probes, indexes, shapes, rollups) per probe: {perProbe.ToString("0.0", CultureInfo.InvariantCulture)}");
    }

    private static long Pragma(Microsoft.Data.Sqlite.SqliteConnection connection, string name)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA {name};";
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }
}
