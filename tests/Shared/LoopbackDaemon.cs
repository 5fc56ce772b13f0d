using System.Diagnostics;

namespace HopCapture.Tests.Shared;

/// <summary>Starts a real server binary (Alertmanager, Prometheus) and waits until its readiness URL answers 200.</summary>
public static class LoopbackDaemon
{
    public static async Task<Process> StartAsync(string binary, IEnumerable<string> arguments, string readyUrl, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (!File.Exists(binary))
        {
            Assert.Fail($"{binary} is missing: run build/deps.sh");
        }

        var start = new ProcessStartInfo(binary) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start " + binary);
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (true)
        {
            Assert.That(process.HasExited, Is.False, $"{binary} exited with {(process.HasExited ? process.ExitCode : 0)}");
            try
            {
                using var ready = await http.GetAsync(readyUrl, cancellationToken);
                if (ready.IsSuccessStatusCode)
                {
                    return process;
                }
            }
            catch (HttpRequestException)
            {
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"{binary} did not become ready within 30 s");
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>Kills the process (its whole tree) and waits for it.</summary>
    public static async Task StopAsync(Process process)
    {
        ArgumentNullException.ThrowIfNull(process);
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        process.Dispose();
    }
}
