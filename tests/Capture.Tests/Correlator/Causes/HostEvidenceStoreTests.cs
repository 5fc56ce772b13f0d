using HopCapture.Correlator.Causes;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Correlator.Causes;

/// <summary>The host evidence table in a real SQLite file: re-sent changes stored once, lookups by device or capture point, pruning.</summary>
[TestFixture]
public sealed class HostEvidenceStoreTests
{
    private const long S = 1_000_000_000;
    private string _directory = "";
    private HostEvidenceStore _evidence = null!;

    [SetUp]
    public void SetUp()
    {
        _directory = Directory.CreateTempSubdirectory("hopcapture-evidence-").FullName;
        var store = new LocalDatabase(Options.Create(new CorrelatorOptions { Database = Path.Combine(_directory, "probes.db") }));
        _evidence = new HostEvidenceStore(store, Options.Create(new HostEvidenceOptions { Retention = TimeSpan.FromMinutes(10), MaxRows = 3 }));
    }

    [TearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public void Add_TheSameChangesAgain_StoredOnce()
    {
        HostEvidence[] heartbeat = [Change(10, "tap100i0", "tap100i0"), Change(10, "vmbr0", "tap100i0", "eno1")];

        var first = _evidence.Add("hv1", heartbeat);
        var again = _evidence.Add("hv1", heartbeat);

        Assert.That((first, again), Is.EqualTo((2, 0)));
    }

    [Test]
    public void List_ByCapturePoint_TheDeviceAndTheBridgeItHangsOffOldestFirst()
    {
        _evidence.Add("hv1", [Change(12, "vmbr0", "tap100i0", "eno1"), Change(10, "tap100i0", "tap100i0"), Change(11, "eno1", "eno1")]);
        _evidence.Add("hv2", [Change(10, "tap100i0", "tap100i0")]);

        var (rows, truncated) = _evidence.List("hv1", "tap100i0", 0, 0, 10);
        var (window, _) = _evidence.List("hv1", null, 11 * S, 12 * S, 10);
        var (limited, cut) = _evidence.List("hv1", null, 0, 0, 2);

        Assert.Multiple(() =>
        {
            Assert.That(rows.Select(r => (r.Node, r.Device)), Is.EqualTo(new[] { ("hv1", "tap100i0"), ("hv1", "vmbr0") }));
            Assert.That(rows[1].Points, Is.EqualTo(new[] { "tap100i0", "eno1" }));
            Assert.That(truncated, Is.False);
            Assert.That(window.Select(r => r.Device), Is.EqualTo(new[] { "eno1", "vmbr0" }));
            Assert.That((limited.Select(r => r.Device), cut), Is.EqualTo((new[] { "eno1", "vmbr0" }, true)).Using<(IEnumerable<string>, bool)>((a, b) => a.Item1.SequenceEqual(b.Item1) && a.Item2 == b.Item2));
        });
    }

    [Test]
    public void Prune_OldRowsAndRowsBeyondTheCap_Deleted()
    {
        _evidence.Add("hv1", [Change(1, "a", "a"), Change(1000, "b", "b"), Change(1001, "c", "c"), Change(1002, "d", "d"), Change(1003, "e", "e")]);

        _evidence.Prune(1003 * S);

        // 1 s is older than the 10 minute retention at 1003 s; of the rest only the newest 3 stay.
        Assert.That(_evidence.List("hv1", null, 0, 0, 10).Evidence.Select(r => r.Device), Is.EqualTo(new[] { "c", "d", "e" }));
    }

    private static HostEvidence Change(long seconds, string device, params string[] points)
    {
        var change = new HostEvidence { TsNs = seconds * S, Device = device, Kind = "carrier", Name = "carrier", Previous = "up", Value = "down (admin)" };
        change.Points.AddRange(points);
        return change;
    }
}
