using Grpc.Net.Client;
using HopCapture.Correlator.Hosting;
using HopCapture.Protos;
using Microsoft.AspNetCore.Builder;
using Microsoft.Data.Sqlite;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// The real correlator host (the one the exe runs, via <see cref="CorrelatorApp.Build"/>) on a
/// free loopback port with a SQLite file in a temp directory, plus gRPC clients for it.
/// Reusable by any test that needs a correlator: <c>await using var c = await TestCorrelator.StartAsync();</c>
/// </summary>
public sealed class TestCorrelator : IAsyncDisposable
{
    /// <summary>
    /// Short engine timings so probes finalise within a test's patience, and plaintext on
    /// loopback: since issue 11 a correlator without TLS must be asked for it (tests of TLS
    /// itself override Correlator:Plaintext back to false).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string?> FastEngine = new Dictionary<string, string?>
    {
        ["Correlator:Plaintext"] = "true",
        ["Correlator:Engine:Settle"] = "00:00:00.200",
        ["Correlator:Engine:ProbeTimeout"] = "00:00:01",
    };

    private readonly string? _ownedDirectory;
    private bool _stopped;

    private TestCorrelator(WebApplication app, string databasePath, string? ownedDirectory)
    {
        App = app;
        DatabasePath = databasePath;
        _ownedDirectory = ownedDirectory;
        Address = CorrelatorApp.ListeningAddress(app);
        Channel = GrpcChannel.ForAddress(Address);
        Query = new Query.QueryClient(Channel);
        Ingest = new Ingest.IngestClient(Channel);
    }

    public WebApplication App { get; }

    public IServiceProvider Services => App.Services;

    /// <summary>http://127.0.0.1:PORT</summary>
    public string Address { get; }

    public string DatabasePath { get; }

    public GrpcChannel Channel { get; }

    public Query.QueryClient Query { get; }

    public Ingest.IngestClient Ingest { get; }

    /// <summary>
    /// Starts a correlator. Without <paramref name="databasePath"/> a temp directory is created
    /// (and deleted on dispose). <paramref name="overrides"/> are config keys on top of
    /// <see cref="FastEngine"/>.
    /// </summary>
    public static async Task<TestCorrelator> StartAsync(
        string? databasePath = null,
        IReadOnlyDictionary<string, string?>? overrides = null,
        IReadOnlyList<string>? extraArgs = null,
        CancellationToken cancellationToken = default)
    {
        string? owned = null;
        if (databasePath is null)
        {
            owned = Path.Combine(Path.GetTempPath(), "hopcapture-test-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(owned);
            databasePath = Path.Combine(owned, "hopcapture.db");
        }

        var settings = new Dictionary<string, string?>(FastEngine);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            settings[key] = value;
        }

        var app = CorrelatorApp.Build(["--listen", "127.0.0.1:0", "--db", databasePath, .. extraArgs ?? []], settings);
        try
        {
            await CorrelatorApp.StartAsync(app, cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return new TestCorrelator(app, databasePath, owned);
    }

    /// <summary>Stops the host gracefully (flush and store) but keeps the database file.</summary>
    public async Task StopAsync()
    {
        if (_stopped)
        {
            return;
        }

        _stopped = true;
        Channel.Dispose();
        await App.StopAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        await App.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownedDirectory is not null)
        {
            SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(_ownedDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Best effort: a temp directory left behind is harmless.
            }
        }
    }

    /// <summary>Calls <paramref name="attempt"/> until <paramref name="done"/> holds or the deadline passes (then fails).</summary>
    public static async Task<T> EventuallyAsync<T>(
        Func<CancellationToken, Task<T>> attempt,
        Func<T, bool> done,
        string what,
        TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        ArgumentNullException.ThrowIfNull(done);
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(15));
        var last = default(T);
        while (!cts.IsCancellationRequested)
        {
            try
            {
                last = await attempt(cts.Token).WaitAsync(cts.Token);
                if (done(last))
                {
                    return last;
                }

                await Task.Delay(50, cts.Token);
            }
            catch (OperationCanceledException) when (cts.IsCancellationRequested)
            {
                break;
            }
        }

        Assert.Fail($"timed out waiting for {what}; last value: {last}");
        throw new InvalidOperationException("unreachable");
    }
}
