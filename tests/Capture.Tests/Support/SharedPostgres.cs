using System.Diagnostics;

namespace HopCapture.Tests.Support;

/// <summary>
/// One PostgreSQL server for the whole test run, started by the first fixture that asks for a
/// database (about a second), a fresh database per caller, stopped by
/// <see cref="HopCapture.Tests.TestRunTeardown"/> when the run ends.
/// </summary>
public static class SharedPostgres
{
    private static readonly SemaphoreSlim Gate = new(1, 1);
    private static PostgresServer? _server;

    /// <summary>How long starting the shared server took (zero until it has started).</summary>
    public static TimeSpan StartTime { get; private set; }

    /// <summary>
    /// A new empty database on the shared server (its connection string). Ignores the calling
    /// test, saying why, only where PostgreSQL is not installed.
    /// </summary>
    public static async Task<string> DatabaseAsync(string prefix, CancellationToken cancellationToken)
    {
        if (PostgresServer.Unavailable is { } reason)
        {
            Assert.Ignore(reason);
        }

        var server = await ServerAsync(cancellationToken);
        return await server.CreateDatabaseAsync(prefix, cancellationToken);
    }

    /// <summary>The shared server, started on first use.</summary>
    public static async Task<PostgresServer> ServerAsync(CancellationToken cancellationToken)
    {
        await Gate.WaitAsync(cancellationToken);
        try
        {
            if (_server is null)
            {
                var started = Stopwatch.StartNew();
                _server = await PostgresServer.StartAsync(durable: false, cancellationToken);
                StartTime = started.Elapsed;
                TestContext.Progress.WriteLine($"PostgreSQL 15 started on 127.0.0.1:{_server.Port} in {StartTime.TotalMilliseconds:0} ms");
            }

            return _server;
        }
        finally
        {
            Gate.Release();
        }
    }

    internal static async Task StopAsync()
    {
        await Gate.WaitAsync();
        try
        {
            if (_server is { } server)
            {
                _server = null;
                await server.DisposeAsync();
            }
        }
        finally
        {
            Gate.Release();
        }
    }
}
