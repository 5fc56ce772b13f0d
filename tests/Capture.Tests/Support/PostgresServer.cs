using System.Diagnostics;
using HopCapture.Tests.Shared;
using System.Globalization;

namespace HopCapture.Tests.Support;

/// <summary>
/// A real PostgreSQL 15 (Debian's postgresql-15, installed by build/deps.sh) in a temp directory:
/// initdb, then pg_ctl on a free loopback port with the socket in the same directory, trust
/// authentication for the superuser "postgres". PostgreSQL refuses to run as root, so under root
/// every server program runs as the system user postgres (setpriv) in a directory it may write.
/// Used by the tests (one server per run, see <c>SharedPostgres</c>) and by the benchmark.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(60);

    private readonly string _directory;
    private readonly List<string> _settings = [];
    private int _databases;

    private PostgresServer(string directory, int port)
    {
        _directory = directory;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The data directory (for figures such as its size on disk).</summary>
    public string DataDirectory => Path.Combine(_directory, "data");

    /// <summary>Why no server can be started here, or null when the binaries are present.</summary>
    public static string? Unavailable =>
        File.Exists(Path.Combine(BinDirectory, "initdb")) && File.Exists(Path.Combine(BinDirectory, "pg_ctl"))
            ? null
            : $"PostgreSQL 15 is not installed ({BinDirectory}/initdb missing): run build/deps.sh";

    /// <summary>
    /// Creates and starts a server. <paramref name="durable"/> false turns fsync and full-page
    /// writes off (tests: a lost server is simply made anew); the benchmark keeps PostgreSQL's
    /// defaults so its figures are those of an ordinary installation.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(bool durable, CancellationToken cancellationToken)
    {
        if (Unavailable is { } reason)
        {
            throw new InvalidOperationException(reason);
        }

        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("the test PostgreSQL runs on Linux only");
        }

        var directory = Path.Combine(Path.GetTempPath(), "hopcapture-pg-" + Guid.NewGuid().ToString("N"));
        // Writable by the postgres user, who creates the data directory (0700, its own) inside.
        Directory.CreateDirectory(directory);
        File.SetUnixFileMode(directory, (UnixFileMode)0b111_111_111); // not the umask's

        var server = new PostgresServer(directory, LoopbackPorts.Free());
        try
        {
            await server.RunAsync("initdb", ["-D", server.DataDirectory, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"], cancellationToken);
            server._settings.AddRange(
            [
                "listen_addresses=127.0.0.1",
                "port=" + server.Port.ToString(CultureInfo.InvariantCulture),
                "unix_socket_directories=" + directory,
                "max_connections=300",
            ]);
            if (!durable)
            {
                server._settings.AddRange(["fsync=off", "full_page_writes=off", "synchronous_commit=off"]);
            }

            await server.RestartAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    /// <summary>Stops the server (fast: sessions are ended, as when an operator restarts it), keeping its data and port.</summary>
    public Task StopAsync(CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "fast", "-w", "stop"], cancellationToken);

    /// <summary>Starts the server (again) on the same port and data, waiting until it accepts connections.</summary>
    public Task RestartAsync(CancellationToken cancellationToken) =>
        RunAsync("pg_ctl", ["-D", DataDirectory, "-l", Path.Combine(_directory, "server.log"), "-w", "-t", "60",
            "-o", string.Join(' ', _settings.Select(static s => "-c " + s)), "start"], cancellationToken);

    /// <summary>A connection string to <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database) =>
        $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Username=postgres;Database={database}";

    /// <summary>Creates a new, empty database named after <paramref name="prefix"/> and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix, CancellationToken cancellationToken)
    {
        var name = $"{prefix.ToLowerInvariant()}_{Interlocked.Increment(ref _databases).ToString(CultureInfo.InvariantCulture)}";
        await RunAsync("createdb", ["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", "postgres", name], cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>The server's log (for a failing test's message).</summary>
    public string Log()
    {
        var path = Path.Combine(_directory, "server.log");
        return File.Exists(path) ? ProcessResult.Tail(File.ReadAllText(path), 40) : "";
    }

    /// <summary>Stops the server at once (immediate: nothing here needs to survive) and removes its directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (File.Exists(Path.Combine(DataDirectory, "postmaster.pid")))
        {
            try
            {
                await RunAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], CancellationToken.None);
            }
            catch (InvalidOperationException)
            {
                // Already gone; the directory is removed either way.
            }
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }

    /// <summary>Runs a PostgreSQL program, as the postgres user when this process is root.</summary>
    private async Task RunAsync(string program, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var binary = Path.Combine(BinDirectory, program);
        IEnumerable<string> argv = arguments;
        if (Environment.UserName == "root")
        {
            argv = ["--reuid=postgres", "--regid=postgres", "--init-groups", binary, .. arguments];
            binary = "/usr/bin/setpriv";
        }

        var started = Stopwatch.StartNew();
        // pg_ctl leaves the server holding its stdout; the log file takes the server's output instead.
        var result = await ProcessRunner.RunAsync(binary, argv, CommandTimeout, cancellationToken, _directory);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed after {started.ElapsedMilliseconds} ms: {result}\n--- server.log\n{Log()}");
        }
    }
}
