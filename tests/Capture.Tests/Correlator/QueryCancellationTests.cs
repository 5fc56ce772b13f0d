using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// Issue 12: the correlator stops a query whose caller gave up (the CLI's deadline, Ctrl-C)
/// instead of scanning on for nobody — a real SQLite file with enough rows that a full
/// `paths` scan takes far longer than the moment the caller waits.
/// </summary>
public class QueryCancellationTests
{
    private const int Rows = 400_000;

    private string _directory = "";
    private SqliteResultsStore _store = null!;

    [OneTimeSetUp]
    public void Fill()
    {
        _directory = Directory.CreateTempSubdirectory("hopcapture-cancel-").FullName;
        _store = new SqliteResultsStore(Options.Create(new CorrelatorOptions { Database = Path.Combine(_directory, "probes.db") }));
        _store.Initialize();
        using var connection = _store.Open();
        using var append = SqliteResultsStore.PrepareAppend(connection);
        using var transaction = connection.BeginTransaction();
        var record = Records.Answered("10.0.0.1", "10.0.0.2");
        for (var i = 0; i < Rows; i++)
        {
            record.Src = $"10.0.{i % 200}.1";
            record.FirstTsNs = 1_700_000_000_000_000_000 + (i * 1_000_000L);
            record.Key.IcmpSeq = (uint)(i % 65536);
            append.Append(record, transaction);
        }

        transaction.Commit();
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public void ListPaths_CallerGivesUpMidScan_StatementInterrupted()
    {
        var queries = new ProbeQueries(_store);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(30));

        var error = Assert.Throws<SqliteException>(() => queries.ListPaths(0, 0, cancel.Token));

        Assert.That(SqliteReadSession.IsInterrupt(error!), Is.True, error!.Message);
    }

    [Test]
    public void ListPaths_NotCancelled_AnswersEveryPath()
    {
        var paths = new ProbeQueries(_store).ListPaths(0, 0, CancellationToken.None).Paths;

        Assert.That(paths, Has.Count.EqualTo(200));
        Assert.That(paths.Sum(p => (long)p.Probes), Is.EqualTo(Rows));
    }

    [Test]
    public void ListLoss_AlreadyCancelled_NeverStarts()
    {
        using var cancel = new CancellationTokenSource();
        cancel.Cancel();

        Assert.Throws<OperationCanceledException>(() => new HopCapture.Correlator.Loss.LossQueries(_store).ListLoss(null, null, 0, 0, cancel.Token));
    }
}
