using System.Diagnostics;
using System.Globalization;
using HopCapture.Tests.Shared;

namespace HopCapture.Bench;

/// <summary>The correlator binary as deployed, started for the ingest measurement; its start line gives the address.</summary>
public sealed class CorrelatorProcess : IDisposable
{
    private const string Listening = "correlator listening on ";
    private readonly Process _process;
    private readonly TaskCompletionSource<string> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly List<string> _errors = [];

    private CorrelatorProcess(Process process) => _process = process;

    public static CorrelatorProcess Start(IReadOnlyList<string> storeArguments, TextWriter log)
    {
        ArgumentNullException.ThrowIfNull(log);
        var dll = RepoPaths.Executable("Correlator", "hopcapture-correlator");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"the correlator is not built: {dll}");
        }

        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // The shipped engine settings: nothing tuned for the benchmark.
        foreach (var arg in (string[])[dll, "--listen", "127.0.0.1:0", "--Correlator:Plaintext=true", .. storeArguments, "--Logging:LogLevel:Default=Warning"])
        {
            start.ArgumentList.Add(arg);
        }

        // For experiments: HC_BENCH_CORRELATOR_ENV="NAME=VALUE …" is added to the correlator's
        // environment only (GC settings, HOPCAPTURE_Correlator__Metrics__Listen=127.0.0.1:9464, …).
        foreach (var pair in (Environment.GetEnvironmentVariable("HC_BENCH_CORRELATOR_ENV") ?? "").Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals > 0)
            {
                start.Environment[pair[..equals]] = pair[(equals + 1)..];
            }
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("cannot start the correlator");
        var correlator = new CorrelatorProcess(process);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data?.StartsWith(Listening, StringComparison.Ordinal) == true)
            {
                correlator._address.TrySetResult(e.Data[Listening.Length..].Split(',')[0].Trim());
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { Length: > 0 } line)
            {
                lock (correlator._errors)
                {
                    correlator._errors.Add(line);
                }

                log.WriteLine("correlator: " + line);
            }
        };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return correlator;
    }

    public async Task<string> ListeningAsync(TimeSpan timeout)
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_address.Task, exited, Task.Delay(timeout));
        if (first == _address.Task)
        {
            return await _address.Task;
        }

        string errors;
        lock (_errors)
        {
            errors = string.Join(" | ", _errors);
        }

        throw new InvalidOperationException(first == exited
            ? $"the correlator exited with {_process.ExitCode} before listening: {errors}"
            : $"the correlator did not print its start line within {timeout.TotalSeconds} s: {errors}");
    }

    /// <summary>User + system CPU seconds the process has used so far.</summary>
    public double CpuSeconds()
    {
        _process.Refresh();
        return _process.TotalProcessorTime.TotalSeconds;
    }

    /// <summary>VmHWM: the largest resident set the process has had.</summary>
    public long PeakResidentBytes()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>SIGTERM (the correlator flushes and exits), SIGKILL after <paramref name="grace"/>.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        if (_process.HasExited)
        {
            return;
        }

        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await kill.WaitForExitAsync();
        }

        try
        {
            await _process.WaitForExitAsync().WaitAsync(grace);
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        _process.Dispose();
    }
}
