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
        if (!File.Exists(Binary))
        {
            Assert.Fail($"{Binary} is missing: run build/deps.sh (Debian package prometheus-alertmanager)");
        }

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
        var alertmanager = new AlertmanagerProcess(directory, WebhookReceiver.FreePort(), resolveTimeout);
        await alertmanager.RestartAsync(cancellationToken);
        return alertmanager;
    }

    /// <summary>Stops Alertmanager (SIGKILL: it keeps alerts in memory only) and leaves the port closed.</summary>
    public async Task StopAsync()
    {
        if (_process is { } process)
        {
            _process = null;
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }

            process.Dispose();
        }
    }

    /// <summary>(Re)starts it on the same port and storage and waits until /-/ready answers.</summary>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        await StopAsync();
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[]
        {
            "--config.file=" + Path.Combine(_directory, "alertmanager.yml"),
            "--storage.path=" + Path.Combine(_directory, "data"),
            $"--web.listen-address=127.0.0.1:{Port}",
            "--cluster.listen-address=",
        })
        {
            start.ArgumentList.Add(arg);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + Binary);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            Assert.That(process.HasExited, Is.False, $"alertmanager exited with {(process.HasExited ? process.ExitCode : 0)}");
            try
            {
                using var ready = await _http.GetAsync($"http://127.0.0.1:{Port}/-/ready", cancellationToken);
                if (ready.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "alertmanager did not become ready within 20 s");
            await Task.Delay(100, cancellationToken);
        }
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
