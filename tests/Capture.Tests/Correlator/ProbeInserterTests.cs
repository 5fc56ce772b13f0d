using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;
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

    /// <summary>
    /// The appender finds a probe's shape id by message equality on its zeroed record instead of
    /// serialising it: probes differing only in numbers share an id, a difference in any other field
    /// (also ones the lookup's hash does not read) gets its own, a new session finds the stored ids,
    /// and the record written is left as it was.
    /// </summary>
    [Test]
    public void Append_ProbesDifferingInNumbersOrInOneOtherField_SameIdOnlyForNumbers()
    {
        var probes = new HistoryProbes(seed: 5);
        var first = probes.Next(0, 1_780_000_000_000_000_000);
        var numbersOnly = first.Clone();
        numbersOnly.Key.IcmpSeq += 1;
        numbersOnly.FirstTsNs += 1_000;
        numbersOnly.Points[3].RoundTripNs += 7;
        numbersOnly.Segments[2].CostNs += 7;
        var vm = first.Clone();
        vm.Points[5].Vm = "vm 200 db01";
        var clamped = first.Clone();
        clamped.Segments[1].LegClamped = true;
        var hinted = first.Clone();
        hinted.Hints.Add(new CauseHint { Cause = "stp" });
        var written = new[] { first, numbersOnly, vm, clamped, hinted };
        var before = written.Select(static p => p.Clone()).ToList();

        using (var connection = _store.Open())
        using (var append = SqliteResultsStore.PrepareAppend(connection))
        using (var transaction = connection.BeginTransaction())
        {
            foreach (var probe in written)
            {
                append.Append(probe, transaction);
            }

            transaction.Commit();
        }

        var again = first.Clone();
        again.Key.IcmpSeq += 2;
        using (var connection = _store.Open())
        using (var append = SqliteResultsStore.PrepareAppend(connection))
        using (var transaction = connection.BeginTransaction())
        {
            append.Append(again, transaction);
            transaction.Commit();
        }

        var shapes = Shapes();
        Assert.Multiple(() =>
        {
            Assert.That(shapes, Has.Count.EqualTo(6));
            Assert.That(shapes[1], Is.EqualTo(shapes[0]), "numbers only: the same shape");
            Assert.That(shapes.Take(1).Concat(shapes.Skip(2).Take(3)), Is.Unique, "a point's vm, a leg clamped, a hint: each its own shape");
            Assert.That(shapes[5], Is.EqualTo(shapes[0]), "a new session finds the stored shape");
            Assert.That(written.Select(static p => { var c = p.Clone(); c.Id = 0; return c; }), Is.EqualTo(before.Select(static p => { p.Id = 0; return p; })), "records are left as they were");
        });
    }

    private List<long> Shapes()
    {
        using var connection = _store.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT shape FROM " + ProbePartitions.AllRows(connection) + " ORDER BY id";
        using var reader = command.ExecuteReader();
        var shapes = new List<long>();
        while (reader.Read())
        {
            shapes.Add(reader.GetInt64(0));
        }

        return shapes;
    }
}
