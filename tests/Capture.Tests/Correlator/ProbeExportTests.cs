using Grpc.Core;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Query;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Protos;
using HopCapture.Tests.Cli;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// Issue 12, "big answers stream": ExportProbes and <c>capture probes --all</c> on the real
/// correlator over a real SQLite file holding more probes than ListProbes' 10,000 cap, across two
/// day partitions, with ties in arrival and capture time that page boundaries must not split
/// wrongly.
/// </summary>
public class ProbeExportTests
{
    private const int Rows = 12_000;
    private const int Sources = 10;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    private string _directory = "";
    private TestCorrelator _correlator = null!;
    private ProbeExports _exports = null!;
    private ProbeQueries _queries = null!;
    private int _probeBytes;

    [OneTimeSetUp]
    public async Task FillAndStart()
    {
        _directory = Directory.CreateTempSubdirectory("hopcapture-export-").FullName;
        var database = Path.Combine(_directory, "probes.db");
        var store = new SqliteResultsStore(Options.Create(new CorrelatorOptions { Database = database }));
        store.Initialize();
        // Recent enough for the default retention; half the probes each side of midnight.
        var midnight = new DateTimeOffset(DateTime.UtcNow.Date, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;
        using (var connection = store.Open())
        using (var append = SqliteResultsStore.PrepareAppend(connection))
        using (var transaction = connection.BeginTransaction())
        {
            var record = Records.Answered("10.0.0.1", "10.0.9.9");
            foreach (var point in record.Points)
            {
                // Bond slaves, as on a real hypervisor: 10,000 such probes are over gRPC's 4 MiB.
                (point.RequestIface, point.ReplyIface) = ("ens1f0np0", "ens1f1np1");
            }

            for (var i = 0; i < Rows; i++)
            {
                record.Src = $"10.0.{i % Sources}.1";
                record.Key.IcmpSeq = (uint)(i % 65536);
                // Ten probes share an arrival (one batch); within it capture times tie in threes.
                record.ArrivalNs = midnight - (Rows / 20 * 1_000_000L) + (i / 10 * 1_000_000L);
                record.FirstTsNs = record.ArrivalNs - (i % 3 * 1_000);
                append.Append(record, transaction);
            }

            _probeBytes = record.CalculateSize();

            transaction.Commit();
        }

        _correlator = await TestCorrelator.StartAsync(database);
        _exports = _correlator.Services.GetRequiredService<ProbeExports>();
        _queries = _correlator.Services.GetRequiredService<ProbeQueries>();
    }

    [OneTimeTearDown]
    public async Task TearDown()
    {
        await _correlator.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    public async Task ExportProbes_MoreThanTheCap_EveryProbeOnceNewestFirstAndTheFirst10000AreListProbes()
    {
        var pagesBefore = _queries.PagesRead;
        var chunks = new List<ProbeExportChunk>();

        using (var call = _correlator.Query.ExportProbes(new ExportProbesRequest(), deadline: DateTime.UtcNow + Patience))
        {
            await foreach (var chunk in call.ResponseStream.ReadAllAsync())
            {
                chunks.Add(chunk);
            }
        }

        var probes = chunks.SelectMany(static c => c.Probes).ToList();
        // The bounded answer is over gRPC's default 4 MiB: a channel that takes it, as the CLI's does.
        using var channel = Grpc.Net.Client.GrpcChannel.ForAddress(_correlator.Address, new Grpc.Net.Client.GrpcChannelOptions { MaxReceiveMessageSize = 64 << 20 });
        var bounded = await new Query.QueryClient(channel).ListProbesAsync(new ListProbesRequest { Limit = QueryService.MaxLimit }, deadline: DateTime.UtcNow + Patience);
        Assert.Multiple(() =>
        {
            Assert.That(probes, Has.Count.EqualTo(Rows));
            Assert.That(probes.Select(static p => p.Id).Distinct().Count(), Is.EqualTo(Rows));
            Assert.That(probes, Is.EqualTo(probes.OrderByDescending(static p => p.ArrivalNs).ThenByDescending(static p => p.FirstTsNs).ThenByDescending(static p => p.Id)));
            Assert.That(probes.Take(QueryService.MaxLimit), Is.EqualTo(bounded.Probes));
            Assert.That(bounded.Matched, Is.EqualTo(Rows));
            Assert.That(chunks.Select(static c => c.Probes.Count), Is.All.InRange(1, QueryService.ExportPageSize), "sent page by page, never as one answer");
            Assert.That(_queries.PagesRead - pagesBefore, Is.EqualTo((Rows / QueryService.ExportPageSize) + 1), "every page once, and the empty read that ends it");
        });
    }

    [Test]
    public async Task ExportProbes_ReaderPauses_CorrelatorReadsNoFurtherAheadThenFinishes()
    {
        var pagesBefore = _queries.PagesRead;
        using var call = _correlator.Query.ExportProbes(new ExportProbesRequest(), deadline: DateTime.UtcNow + Patience);
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Patience), Is.True);
        var received = call.ResponseStream.Current.Probes.Count;

        // A reader that stops reading: whatever the correlator reads now it would have to hold.
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        var readWhilePaused = _queries.PagesRead - pagesBefore;

        while (await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Patience))
        {
            received += call.ResponseStream.Current.Probes.Count;
        }

        Assert.That(readWhilePaused, Is.LessThanOrEqualTo(5), "flow control holds the reads to the transport's windows, a few pages of 12");
        Assert.That(received, Is.EqualTo(Rows));
    }

    [Test]
    public async Task ExportProbes_CallerCancelsMidStream_CorrelatorStopsReading()
    {
        var (pagesBefore, stoppedBefore) = (_queries.PagesRead, _exports.Stopped);
        using var cancel = new CancellationTokenSource();
        using (var call = _correlator.Query.ExportProbes(new ExportProbesRequest(), cancellationToken: cancel.Token))
        {
            Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Patience), Is.True);
            await cancel.CancelAsync();
        }

        await TestCorrelator.EventuallyAsync(_ => Task.FromResult((_exports.Stopped, _exports.Running)), s => s.Stopped > stoppedBefore && s.Running == 0, "the export to stop");
        var pagesAtStop = _queries.PagesRead;
        await Task.Delay(TimeSpan.FromMilliseconds(200));

        Assert.That(_queries.PagesRead, Is.EqualTo(pagesAtStop), "no page is read after the stop");
        Assert.That(pagesAtStop - pagesBefore, Is.LessThan(Rows / QueryService.ExportPageSize), "stopped before the end");
    }

    [Test]
    public async Task ExportProbes_DeadlinePasses_CorrelatorStopsAndCallerHearsDeadlineExceeded()
    {
        var stoppedBefore = _exports.Stopped;
        using var call = _correlator.Query.ExportProbes(new ExportProbesRequest(), deadline: DateTime.UtcNow.AddMilliseconds(300));
        Assert.That(await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(Patience), Is.True);

        // A reader too slow for its deadline: the correlator must give up at it, not at the end.
        var error = Assert.ThrowsAsync<RpcException>(async () =>
        {
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        });

        Assert.That(error!.StatusCode, Is.EqualTo(StatusCode.DeadlineExceeded));
        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(_exports.Stopped), s => s > stoppedBefore, "the export to stop at the deadline");
    }

    [Test]
    public async Task ProbesLimit10000Json_AnswerOver4MiB_ArrivesWhole()
    {
        var result = await CliAppTests.Run(["probes", "--limit", "10000", "--json", "--correlator", _correlator.Address]);

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        Assert.That(_probeBytes * QueryService.MaxLimit, Is.GreaterThan(4 << 20), "the answer is over gRPC's default limit");
        // Counted, not parsed: parsing ~35 MB of JSON would be most of this test's time.
        Assert.That(result.Stdout.Split("\"firstTsNs\"").Length - 1, Is.EqualTo(QueryService.MaxLimit));
    }

    [Test]
    public async Task ProbesAllJson_OnePath_OneProbeRecordPerLineInOrder()
    {
        var result = await CliAppTests.Run(["probes", "--all", "--json", "--src", "10.0.3.1", "--correlator", _correlator.Address]);

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        var lines = result.Stdout.TrimEnd('\n').Split('\n');
        var probes = lines.Select(static line => Google.Protobuf.JsonParser.Default.Parse<ProbeRecord>(line)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(probes, Has.Count.EqualTo(Rows / Sources));
            Assert.That(probes.Select(static p => p.Src), Is.All.EqualTo("10.0.3.1"));
            Assert.That(probes.Select(static p => p.Id), Is.Ordered.Descending, "ids rise with arrival here: newest first");
            Assert.That(result.Stderr, Is.Empty, "no progress on a stderr that is no terminal");
        });
    }

    [Test]
    public async Task ProbesAllTable_OnePath_RowsUnderOneHeaderAndTheCountAndASummaryOnATerminal()
    {
        var result = await CliAppTests.Run(["probes", "--all", "--src", "10.0.7.1", "--correlator", _correlator.Address], stderrIsTerminal: true);

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        var lines = result.Stdout.TrimEnd('\n').Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Does.StartWith("  id ").And.Contain("src → dst").And.Contain("verdict"));
            Assert.That(lines.Skip(1).SkipLast(1), Has.Exactly(Rows / Sources).Contains("10.0.7.1 → 10.0.9.9"));
            Assert.That(lines[^1], Is.EqualTo("1,200 probes"));
            Assert.That(result.Stderr, Does.Match(@"capture: exported 1,200 probes in \d+\.\d s\n$"), "stdout is no terminal: a summary says it finished");
        });
    }
}
