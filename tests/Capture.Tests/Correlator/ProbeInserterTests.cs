using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Tests.Cli;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Correlator;

/// <summary>The raw-statement insert (through the appender) the store writer uses, against a real SQLite file.</summary>
public class ProbeInserterTests
{
    private string _directory = "";
    private SqliteResultsStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "hopcapture-inserter-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
        _store = new SqliteResultsStore(Options.Create(new CorrelatorOptions { Database = Path.Combine(_directory, "probes.db") }));
        _store.Initialize();
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public void Insert_InATransaction_StoresColumnsAndACompactRecordDecodingToTheOriginal()
    {
        var probe = Seed003.Probe();
        probe.Id = 77; // the caller's id is not stored in the blob, and is left as it was
        var ids = new List<long>();
        using (var connection = _store.Open())
        using (var append = SqliteResultsStore.PrepareAppend(connection))
        using (var transaction = connection.BeginTransaction())
        {
            for (var i = 0; i < 3; i++)
            {
                probe.Key.IcmpSeq = (uint)(110 + i);
                ids.Add(append.Append(probe, transaction));
            }

            transaction.Commit();
        }

        using var read = _store.Open();
        using var command = read.CreateCommand();
        command.CommandText = "SELECT id, icmp_seq, rtt_ns, answered FROM " + ProbePartitions.AllRows(read) + " ORDER BY id";
        using var reader = command.ExecuteReader();
        var rows = new List<(long Id, long Seq, long Rtt, long Answered)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3)));
        }

        var records = ids.Select(id => new ProbeQueries(_store).GetById(id)!).ToList();
        var expected = probe.Clone();
        expected.Id = 1;
        expected.Key.IcmpSeq = 110;
        expected.ArrivalNs = probe.FirstTsNs; // a record without an arrival time is filed (and read back) by its capture time
        Assert.Multiple(() =>
        {
            Assert.That(probe.Id, Is.EqualTo(77));
            Assert.That(ids, Is.EqualTo(new long[] { 1, 2, 3 }));
            Assert.That(rows.Select(static r => r.Id), Is.EqualTo(ids));
            Assert.That(rows.Select(static r => r.Seq), Is.EqualTo(new long[] { 110, 111, 112 }));
            Assert.That(rows.Select(static r => (r.Rtt, r.Answered)), Is.All.EqualTo((probe.RttNs, 1L)));
            Assert.That(records.Select(static r => r.Key.IcmpSeq), Is.EqualTo(new uint[] { 110, 111, 112 }));
            Assert.That(records[0], Is.EqualTo(expected), "the compact row decodes to the record stored");
        });
    }

    [Test]
    public void Insert_ReadOnlyConnection_ThrowsTheSqliteErrorAndTheStatementStaysUsable()
    {
        var path = Path.Combine(_directory, "probes.db");
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var append = SqliteResultsStore.PrepareAppend(connection);

        var error = Assert.Throws<SqliteException>(() => append.Append(Seed003.Probe()));
        Assert.That(error!.Message, Does.Contain("readonly").IgnoreCase);
        // A second attempt fails the same way rather than misbehaving.
        Assert.Throws<SqliteException>(() => append.Append(Seed003.Probe()));
    }
}
