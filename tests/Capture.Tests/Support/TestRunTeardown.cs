using HopCapture.Tests.Support;

namespace HopCapture.Tests;

/// <summary>
/// Stops what the run shares (the PostgreSQL server) after every fixture: a setup fixture in the
/// tests' root namespace wraps them all. Its name matches no test filter on purpose: a filter that
/// matched it (say ~Postgres) would select every test below it.
/// </summary>
[SetUpFixture]
public sealed class TestRunTeardown
{
    [OneTimeTearDown]
    public static async Task StopSharedServers() => await SharedPostgres.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
}
