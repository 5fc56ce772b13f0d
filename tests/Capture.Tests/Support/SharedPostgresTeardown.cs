using HopCapture.Tests.Support;

namespace HopCapture.Tests;

/// <summary>
/// Stops the shared PostgreSQL after every fixture of the run: a setup fixture in the tests' root
/// namespace wraps them all.
/// </summary>
[SetUpFixture]
public sealed class SharedPostgresTeardown
{
    [OneTimeTearDown]
    public static async Task StopSharedPostgres() => await SharedPostgres.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
}
