using HopCapture.Correlator.Hosting;
using HopCapture.Protos;
using HopCapture.Tests.Cli;
using HopCapture.Tests.Support;
using Npgsql;

namespace HopCapture.Tests.Correlator.Postgres;

/// <summary>
/// The real correlator host with Correlator:Store:Provider = postgres on the run's PostgreSQL 15:
/// agents' batches over gRPC in, the query API and the CLI out, against the same traffic into a
/// SQLite correlator; two correlators sharing one database; the server going away mid-run.
/// </summary>
[TestFixture]
[CancelAfter(120_000)]
public sealed class PostgresCorrelatorTests
{
    private const int Probes = 12;

    [Test]
    public async Task Queries_SameBatchesIntoSqliteAndPostgres_SameAnswersFromApiAndCli(CancellationToken cancellationToken)
    {
        var database = await SharedPostgres.DatabaseAsync("e2e", cancellationToken);
        await using var sqlite = await TestCorrelator.StartAsync(cancellationToken: cancellationToken);
        await using var postgres = await StartPostgresAsync(database, "e2e", cancellationToken);

        await SendTrafficAsync(sqlite, firstSeq: 100, batchSeq: 1);
        await SendTrafficAsync(postgres, firstSeq: 100, batchSeq: 1);
        var fromSqlite = await StoredAsync(sqlite, Probes);
        var fromPostgres = await StoredAsync(postgres, Probes);

        Assert.Multiple(() =>
        {
            Assert.That(Comparable(fromPostgres), Is.EqualTo(Comparable(fromSqlite)), "every probe record, ids included (arrival times differ)");
            Assert.That(fromPostgres.Count(static p => !p.Answered), Is.EqualTo(Probes / 4), "every fourth probe lost");
        });

        foreach (var command in new[] { "paths", "loss", "freezes" })
        {
            string[] options = command == "freezes" ? ["--json", "--min-lost", "1"] : ["--json"];
            var a = await CliAppTests.Run([command, .. options, "--correlator", sqlite.Address], cancellationToken: cancellationToken);
            var b = await CliAppTests.Run([command, .. options, "--correlator", postgres.Address], cancellationToken: cancellationToken);
            Assert.Multiple(() =>
            {
                Assert.That(b.ExitCode, Is.EqualTo(0), $"{command}: {b.Stderr}");
                Assert.That(b.Stdout, Is.EqualTo(a.Stdout), $"capture {command} --json answers alike");
                Assert.That(b.Stdout, Does.Contain(Report003.Src), $"capture {command} names the path");
            });
        }

        var table = await CliAppTests.Run(["paths", "--correlator", postgres.Address], cancellationToken: cancellationToken);
        Assert.That(table.Stdout, Is.EqualTo((await CliAppTests.Run(["paths", "--correlator", sqlite.Address], cancellationToken: cancellationToken)).Stdout));
    }

    [Test]
    public async Task TwoCorrelators_OneDatabase_EachStoresItsOwnBothSeeAllAndNamesAreExclusive(CancellationToken cancellationToken)
    {
        var database = await SharedPostgres.DatabaseAsync("shared", cancellationToken);
        await using var east = await StartPostgresAsync(database, "east", cancellationToken);
        await using var west = await StartPostgresAsync(database, "west", cancellationToken);

        await SendTrafficAsync(east, firstSeq: 100, batchSeq: 1);
        await SendTrafficAsync(west, firstSeq: 200, batchSeq: 1);
        var seenByEast = await StoredAsync(east, 2 * Probes);
        var seenByWest = await StoredAsync(west, 2 * Probes);

        var twin = Assert.ThrowsAsync<CorrelatorStartupException>(() => StartPostgresAsync(database, "east", cancellationToken));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync(cancellationToken);
        await using var checkpoints = new NpgsqlCommand("SELECT correlator FROM journal_state ORDER BY correlator", connection);
        var rows = new List<string>();
        await using (var reader = await checkpoints.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(reader.GetString(0));
            }
        }

        Assert.Multiple(() =>
        {
            Assert.That(seenByWest.Select(static p => p.Id), Is.EquivalentTo(seenByEast.Select(static p => p.Id)), "one history, read from either");
            Assert.That(seenByEast.Select(static p => p.Id), Is.Unique, "ids from one sequence");
            Assert.That(seenByEast.Select(static p => p.Key.IcmpSeq), Is.EquivalentTo(Enumerable.Range(100, Probes).Concat(Enumerable.Range(200, Probes)).Select(static s => (uint)s)));
            Assert.That(rows, Is.EqualTo(new[] { "east", "west" }), "a journal checkpoint per correlator");
            Assert.That(twin!.Key, Is.EqualTo("Correlator:Store:Instance"));
            Assert.That(twin.Message, Does.Contain("another running correlator uses instance name 'east'"));
        });
    }

    [Test]
    public async Task Ingest_PostgresStoppedMidRun_AckedBatchesStoredOnceItIsBack(CancellationToken cancellationToken)
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.Ignore(reason);
        }

        // A server of its own: this test stops it.
        await using var server = await PostgresServer.StartAsync(durable: false, cancellationToken);
        var database = await server.CreateDatabaseAsync("outage", cancellationToken);
        await using var correlator = await StartPostgresAsync(database, "outage", cancellationToken);
        await SendTrafficAsync(correlator, firstSeq: 100, batchSeq: 1);
        await StoredAsync(correlator, Probes);

        await server.StopAsync(cancellationToken);
        await SendTrafficAsync(correlator, firstSeq: 200, batchSeq: 2); // acked: the journal holds them
        await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken); // finalised meanwhile; the writer retries
        await server.RestartAsync(cancellationToken);

        var stored = await StoredAsync(correlator, 2 * Probes, TimeSpan.FromSeconds(40));
        Assert.Multiple(() =>
        {
            Assert.That(stored.Select(static p => p.Key.IcmpSeq), Is.EquivalentTo(Enumerable.Range(100, Probes).Concat(Enumerable.Range(200, Probes)).Select(static s => (uint)s)),
                "every acked probe stored, once");
            Assert.That(stored.Select(static p => p.Id), Is.Unique);
        });
    }

    [Test]
    public void Start_DatabaseMissing_FailsAtOnceNamingTheKey()
    {
        var connectionString = new NpgsqlConnectionStringBuilder(SharedPostgres.DatabaseAsync("missing", CancellationToken.None).GetAwaiter().GetResult())
        {
            Database = "no_such_database",
        }.ConnectionString;

        var error = Assert.ThrowsAsync<CorrelatorStartupException>(() => StartPostgresAsync(connectionString, "x", CancellationToken.None));

        Assert.Multiple(() =>
        {
            Assert.That(error!.Key, Is.EqualTo("Correlator:Store:ConnectionString"));
            Assert.That(error.Message, Does.Contain("database \"no_such_database\" does not exist"));
        });
    }

    private static Task<TestCorrelator> StartPostgresAsync(string connectionString, string instance, CancellationToken cancellationToken) =>
        TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?>
            {
                ["Correlator:Store:Provider"] = "postgres",
                ["Correlator:Store:ConnectionString"] = connectionString,
                ["Correlator:Store:Instance"] = instance,
            },
            cancellationToken: cancellationToken);

    /// <summary>
    /// Report 003's four agents, each one batch of <see cref="Probes"/> probes a second apart
    /// from <paramref name="firstSeq"/>; every fourth one's reply is never seen (lost).
    /// </summary>
    private static async Task SendTrafficAsync(TestCorrelator correlator, uint firstSeq, ulong batchSeq)
    {
        foreach (var (node, _) in Report003.Nodes)
        {
            await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor(node));
            var observations = new List<Observation>();
            for (var i = 0; i < Probes; i++)
            {
                foreach (var observation in Report003.ObservationsFor(node, firstSeq + (uint)i))
                {
                    observation.TsNs += i * 1_000_000_000L;
                    if (i % 4 != 3 || observation.Type == EchoType.Request)
                    {
                        observations.Add(observation);
                    }
                }
            }

            var ack = await agent.SendBatchAsync(batchSeq, observations);
            Assert.That(ack.Accepted, Is.EqualTo((uint)observations.Count), $"{node}: every observation accepted ({ack.RejectReason})");
        }
    }

    private static async Task<List<ProbeRecord>> StoredAsync(TestCorrelator correlator, int count, TimeSpan? timeout = null)
    {
        var listed = await TestCorrelator.EventuallyAsync(
            async ct => await correlator.Query.ListProbesAsync(new ListProbesRequest { Limit = 1000 }, cancellationToken: ct),
            r => (int)r.Matched >= count,
            $"{count} probes stored",
            timeout ?? TimeSpan.FromSeconds(20));
        return [.. listed.Probes];
    }

    /// <summary>The records without their arrival times (each correlator's own clock).</summary>
    private static List<ProbeRecord> Comparable(IEnumerable<ProbeRecord> records) =>
        [.. records.Select(static r =>
        {
            var copy = r.Clone();
            copy.ArrivalNs = 0;
            return copy;
        }).OrderBy(static r => r.Key.IcmpSeq)];
}
