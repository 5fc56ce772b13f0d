using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// The writer finds a probe's shape id by message equality on its zeroed record instead of
/// serialising it: probes differing only in numbers share an id, a difference in any other field
/// (also ones the lookup's hash does not read) gets its own, a new session finds the stored ids,
/// and the record written is left as it was.
/// </summary>
public class ProbeShapeIdsTests
{
    private string _directory = "";
    private SqliteResultsStore _store = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "hopcapture-shapes-" + Guid.NewGuid().ToString("N"));
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
