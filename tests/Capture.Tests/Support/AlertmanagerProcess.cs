using System.Diagnostics;
using System.Text.Json;

namespace HopCapture.Tests.Support;

/// <summary>One alert as Alertmanager's GET /api/v2/alerts shows it (only active ones are listed).</summary>
public sealed record AlertmanagerAlert(string Fingerprint, string AlertName, DateTimeOffset StartsAt, DateTimeOffset EndsAt, IReadOnlyDictionary<string, string> Labels);

/// <summary>
/// The real Alertmanager (Debian's prometheus-alertmanager, installed by build/deps.sh) in a
/// temp directory on a loopback port, clustering off, with a short resolve_timeout so a client
/// that stops re-sending loses its alert within a test's patience. Restartable on the same port
/// and storage, as an operator's restart would be.
/// </summary>
public sealed class AlertmanagerProcess : IAsyncDisposable
{
    public const string Binary = "/usr/bin/prometheus-alertmanager";

    private readonly string _directory;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private Process? _process;

    private AlertmanagerProcess(string directory, int port, TimeSpan resolveTimeout)
    {
        _directory = directory;
        Port = port;
        ResolveTimeout = resolveTimeout;
    }

    public int Port { get; }

    public TimeSpan ResolveTimeout { get; }

    /// <summary>Where the correlator's webhook points.</summary>
    public string AlertsUrl => $"http://127.0.0.1:{Port}/api/v2/alerts";

    public static async Task<AlertmanagerProcess> StartAsync(TimeSpan resolveTimeout, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Path.GetTempPath(), "hopcapture-am-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        await File.WriteAllTextAsync(Path.Combine(directory, "alertmanager.yml"), $"""
            global:
              resolve_timeout: {(int)resolveTimeout.TotalSeconds}s
            route:
              receiver: blackhole
              group_wait: 1s
              group_interval: 1s
              repeat_interval: 1h
            receivers:
              - name: blackhole
            """, cancellationToken);
        var alertmanager = new AlertmanagerProcess(directory, LoopbackPorts.Free(), resolveTimeout);
        await alertmanager.RestartAsync(cancellationToken);
        return alertmanager;
    }

    /// <summary>Stops Alertmanager (SIGKILL: it keeps alerts in memory only) and leaves the port closed.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            await LoopbackDaemon.StopAsync(process);
        }
    }

    /// <summary>(Re)starts it on the same port and storage and waits until /-/ready answers.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await StopAsync();
        _process = await LoopbackDaemon.StartAsync(
            Binary,
            [
                "--config.file=" + Path.Combine(_directory, "alertmanager.yml"),
                "--storage.path=" + Path.Combine(_directory, "data"),
                $"--web.listen-address=127.0.0.1:{Port}",
                "--cluster.listen-address=",
            ],
            $"http://127.0.0.1:{Port}/-/ready",
            cancellationToken);
    }

    /// <summary>The alerts Alertmanager holds as firing, processed or not yet (GET /api/v2/alerts leaves out those whose endsAt has passed).</summary>
    public async Task<IReadOnlyList<AlertmanagerAlert>> ActiveAsync(CancellationToken cancellationToken)
    {
        using var document = JsonDocument.Parse(await _http.GetStringAsync($"http://127.0.0.1:{Port}/api/v2/alerts?active=true", cancellationToken));
        return [.. document.RootElement.EnumerateArray()
            .Select(a =>
            {
                var labels = a.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "", StringComparer.Ordinal);
                return new AlertmanagerAlert(
                    a.GetProperty("fingerprint").GetString() ?? "",
                    labels.GetValueOrDefault("alertname", ""),
                    a.GetProperty("startsAt").GetDateTimeOffset(),
                    a.GetProperty("endsAt").GetDateTimeOffset(),
                    labels);
            })];
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _http.Dispose();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }
}
