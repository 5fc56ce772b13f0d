using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Journal;
using HopCapture.Engine.Model;
using Microsoft.Extensions.DependencyInjection;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Tests.Correlator.Journal;

/// <summary>The ingest journal's record format and its start-up behaviour (the crash tests drive the rest).</summary>
public class IngestJournalTests
{
    [Test]
    public void Codec_RoundTripIntoAFreshCatalog_KeepsEveryFieldAndMapsInterfacesByName()
    {
        var before = new InterfaceCatalog();
        before.Register("other", "x", null, PointRole.Guest);
        var guest = before.Register("nc1", "eth0", "vm100", PointRole.Guest).Id;
        var nic = before.Register("nc1", "eno1", null, PointRole.Nic).Id;
        EngineObservation[] observations =
        [
            new(guest, 1_700_000_000_000_000_001, UInt128.MaxValue, 42, 7, 65535, 0xDEADBEEF, EchoType.Request, PacketDirection.Out, Imported: true),
            new(nic, 1_700_000_000_000_000_002, 1, UInt128.MaxValue - 1, 8, 0, 1, EchoType.Reply, PacketDirection.In, Imported: true),
        ];

        var record = JournalCodec.Encode("nc1", "inst-1", 99, imported: true, observations, before);
        var after = new InterfaceCatalog();
        var batch = JournalCodec.Decode(record, after);

        Assert.Multiple(() =>
        {
            Assert.That((batch.Node, batch.Instance, batch.Seq), Is.EqualTo(("nc1", "inst-1", 99UL)));
            Assert.That(batch.Observations, Has.Length.EqualTo(2));
            var entry = after.Interface(batch.Observations[0].Iface);
            Assert.That((entry.Node, entry.Iface, entry.Point, entry.Role), Is.EqualTo(("nc1", "eth0", "vm100", PointRole.Guest)));
            Assert.That(after.Interface(batch.Observations[1].Iface).Iface, Is.EqualTo("eno1"));
            Assert.That(batch.Observations[0] with { Iface = guest }, Is.EqualTo(observations[0]));
            Assert.That(batch.Observations[1] with { Iface = nic }, Is.EqualTo(observations[1]));
        });
    }

    [Test]
    public void Codec_TruncatedRecord_IsAFormatErrorNotACrash()
    {
        var catalog = new InterfaceCatalog();
        var id = catalog.Register("nc1", "eth0", null, PointRole.Guest).Id;
        var record = JournalCodec.Encode("nc1", "i", 1, false, [new EngineObservation(id, 1, 1, 2, 1, 1, 1, EchoType.Request, PacketDirection.Unknown)], catalog);
        for (var cut = 0; cut < record.Length; cut++)
        {
            Assert.That(() => JournalCodec.Decode(record.AsSpan(0, cut), new InterfaceCatalog()), Throws.TypeOf<FormatException>(), $"cut at {cut}");
        }
    }

    [Test]
    public void Start_JournalDirectoryIsAFile_OneLineNamingTheKey()
    {
        var directory = Directory.CreateTempSubdirectory("hopcapture-journal-");
        try
        {
            var blocker = Path.Combine(directory.FullName, "journal");
            File.WriteAllText(blocker, "not a directory");
            var error = Assert.ThrowsAsync<CorrelatorStartupException>(() => TestCorrelator.StartAsync(
                Path.Combine(directory.FullName, "hopcapture.db"),
                new Dictionary<string, string?> { ["Correlator:Journal:Directory"] = blocker }));
            Assert.That(error!.Message, Does.StartWith("Correlator:Journal:Directory: cannot open the ingest journal"));
            Assert.That(error.Message, Does.Not.Contain("\n"));
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task GracefulStop_FinalCheckpointCoversEverything_NothingReplayedAtNextStart()
    {
        var directory = Directory.CreateTempSubdirectory("hopcapture-journal-");
        try
        {
            var database = await StoreReport003AndStopAsync(directory.FullName);

            await using var restarted = await TestCorrelator.StartAsync(database);
            var journal = restarted.Services.GetRequiredService<IngestJournal>();
            Assert.That(journal.ReplayedBatches, Is.Zero, "a graceful stop stores everything and checkpoints past it");
            Assert.That(journal.Recovery!.CutBytes, Is.Zero);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    [Test]
    public async Task Start_DatabaseDeletedAndCreatedAnew_OldJournalSetAsideNotReplayed()
    {
        var directory = Directory.CreateTempSubdirectory("hopcapture-journal-");
        try
        {
            var database = await StoreReport003AndStopAsync(directory.FullName);
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            foreach (var file in Directory.GetFiles(directory.FullName, "hopcapture.db*"))
            {
                File.Delete(file);
            }

            await using var fresh = await TestCorrelator.StartAsync(database);
            var journal = fresh.Services.GetRequiredService<IngestJournal>();
            Assert.That(journal.ReplayedBatches, Is.Zero, "another database's batches must not be replayed into this one");
            Assert.That(Directory.GetDirectories(directory.FullName, "hopcapture.db.journal.foreign-*"), Has.Length.EqualTo(1));
            var paths = await fresh.Query.ListPathsAsync(new HopCapture.Protos.ListPathsRequest());
            Assert.That(paths.Paths, Is.Empty);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>A correlator on a database in <paramref name="directory"/> takes report 003's batches and stops gracefully; returns the database path.</summary>
    private static async Task<string> StoreReport003AndStopAsync(string directory)
    {
        var database = Path.Combine(directory, "hopcapture.db");
        await using var correlator = await TestCorrelator.StartAsync(database);
        await Report003.SendAllAsync(correlator);
        await correlator.StopAsync();
        return database;
    }
}
