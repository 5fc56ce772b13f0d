using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Correlator.Storage;

/// <summary>
/// The write-ahead log is copied into the database file beside the writer: the writer's own
/// automatic checkpoint waits for 16,384 log pages, yet a thousand probes committed (a few hundred
/// pages, below SQLite's default threshold too) reach the file without another commit.
/// </summary>
public class WalCheckpointerTests
{
    [Test]
    [CancelAfter(30_000)]
    public async Task Write_AThousandProbes_CheckpointedIntoTheFileWithoutTheWriter(CancellationToken cancellationToken)
    {
        using var factory = new SqliteBackendFactory();
        var store = (SqliteResultsStore)factory.Create(new RetentionOptions());
        var history = new HistoryProbes();
        var before = new FileInfo(store.Path).Length;
        using var session = store.OpenWriter();

        session.Write(Enumerable.Range(0, WalCheckpointer.EveryProbes).Select(i => history.Next(i % 20, 1_780_000_000_000_000_000 + (i * 1_000_000L))).ToList(), 0);

        var deadline = DateTime.UtcNow.AddSeconds(20);
        var size = before;
        while ((size = new FileInfo(store.Path).Length) < before + 150_000 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, cancellationToken);
        }

        Assert.That(size - before, Is.GreaterThanOrEqualTo(150_000), "the database file took the committed probes (~190 bytes each) from the log");
    }
}
