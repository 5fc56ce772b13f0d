using HopCapture.Tests.Support;
using Npgsql;

namespace HopCapture.Tests.Correlator.Postgres;

/// <summary>The test PostgreSQL itself: a real 15 server, a database per caller, each empty and apart.</summary>
[TestFixture]
public sealed class PostgresServerTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task DatabaseAsync_TwoCallers_GetSeparateEmptyDatabasesOnPostgres15(CancellationToken cancellationToken)
    {
        var first = await SharedPostgres.DatabaseAsync("server_test", cancellationToken);
        var second = await SharedPostgres.DatabaseAsync("server_test", cancellationToken);

        await using (var connection = new NpgsqlConnection(first))
        {
            await connection.OpenAsync(cancellationToken);
            await using var create = new NpgsqlCommand("CREATE TABLE marker(x int)", connection);
            await create.ExecuteNonQueryAsync(cancellationToken);
            await using var version = new NpgsqlCommand("SHOW server_version_num", connection);
            Assert.That(int.Parse((string)(await version.ExecuteScalarAsync(cancellationToken))!, System.Globalization.CultureInfo.InvariantCulture) / 10000, Is.EqualTo(15));
        }

        await using (var connection = new NpgsqlConnection(second))
        {
            await connection.OpenAsync(cancellationToken);
            await using var tables = new NpgsqlCommand("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'", connection);
            Assert.That(await tables.ExecuteScalarAsync(cancellationToken), Is.EqualTo(0L), "a new database sees nothing of another's");
        }

        Assert.That(first, Is.Not.EqualTo(second));
        TestContext.Out.WriteLine($"shared server start: {SharedPostgres.StartTime.TotalMilliseconds:0} ms");
    }
}
