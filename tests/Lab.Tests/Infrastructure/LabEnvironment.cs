using System.Globalization;
using System.Text;

namespace HopCapture.Lab.Tests.Infrastructure;

/// <summary>
/// Drives <c>build/lab.sh</c> and the CLI for the lab tests. Paths are derived from the repository
/// root (the directory holding Capture.sln above the test assembly, or HC_REPO).
/// </summary>
public sealed class LabEnvironment
{
    /// <summary>TLS since issue 11: the correlator listens on the management bridge, not loopback.</summary>
    public const string CorrelatorUrl = "https://10.250.0.1:7400";

    public LabEnvironment(string repositoryRoot)
    {
        RepositoryRoot = repositoryRoot;
        StateDirectory = Environment.GetEnvironmentVariable("HC_LAB_STATE") is { Length: > 0 } state
            ? state
            : Path.Combine(repositoryRoot, ".lab");
    }

    public string RepositoryRoot { get; }

    public string StateDirectory { get; }

    public string LabScript => Path.Combine(RepositoryRoot, "build", "lab.sh");

    public static string CliDll => RepoPaths.Executable("Cli", "capture", "Release");

    public static LabEnvironment Locate() => new(RepoPaths.Root);

    /// <summary>Why the lab cannot run here, or null when it can (root and working network namespaces).</summary>
    public static async Task<string?> UnavailableReasonAsync(CancellationToken cancellationToken)
    {
        var id = await ProcessRunner.RunAsync("id", ["-u"], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (id.StdOut.Trim() != "0")
        {
            return "lab tests need root (network namespaces, tc, packet capture)";
        }

        var probe = "hc-probe-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
        var add = await ProcessRunner.RunAsync("ip", ["netns", "add", probe], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        if (add.ExitCode != 0)
        {
            return "'ip netns add' does not work here: " + add.StdErr.Trim();
        }

        await ProcessRunner.RunAsync("ip", ["netns", "del", probe], TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        return null;
    }

    /// <summary>
    /// A fixture's start: the lab up with the pipeline running, or the fixture ignored when the lab
    /// cannot run here. A failed start leaves nothing behind.
    /// </summary>
    public static async Task<LabEnvironment> StartPipelineOrIgnoreAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        var reason = await UnavailableReasonAsync(limit.Token).ConfigureAwait(false);
        if (reason is not null)
        {
            Assert.Ignore(reason);
        }

        var lab = Locate();
        var started = false;
        try
        {
            await lab.LabAsync(TimeSpan.FromMinutes(1), limit.Token, "up").ConfigureAwait(false);
            await lab.LabAsync(TimeSpan.FromMinutes(3), limit.Token, "start-pipeline").ConfigureAwait(false);
            started = true;
        }
        finally
        {
            if (!started)
            {
                await lab.DownAsync().ConfigureAwait(false);
            }
        }

        return lab;
    }

    /// <summary>Removes the lab and everything it started.</summary>
    public async Task DownAsync()
    {
        using var limit = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await LabAsync(TimeSpan.FromMinutes(2), limit.Token, "down").ConfigureAwait(false);
    }

    /// <summary>Runs <c>build/lab.sh ARGS</c>; a non-zero exit throws with the script's output.</summary>
    public async Task<ProcessResult> LabAsync(TimeSpan timeout, CancellationToken cancellationToken, params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("bash", [LabScript, .. arguments], timeout, cancellationToken, RepositoryRoot)
            .ConfigureAwait(false);
        if (result.ExitCode != 0)
        {
            throw new InvalidOperationException($"build/lab.sh {string.Join(' ', arguments)} failed: {result}\n{LogTails()}");
        }

        return result;
    }

    /// <summary>Runs a command inside a lab namespace.</summary>
    public static Task<ProcessResult> InNamespaceAsync(string ns, TimeSpan timeout, CancellationToken cancellationToken, params string[] command) =>
        ProcessRunner.RunAsync("ip", ["netns", "exec", ns, .. command], timeout, cancellationToken);

    /// <summary>Where build/lab.sh keeps its CA and certificates (`capture pki`).</summary>
    public string PkiDirectory => Path.Combine(StateDirectory, "pki");

    /// <summary>Runs the CLI against the lab's correlator, with the lab's operator certificate.</summary>
    public Task<ProcessResult> CliAsync(TimeSpan timeout, CancellationToken cancellationToken, params string[] arguments) =>
        ProcessRunner.RunAsync(
            "dotnet",
            [
                CliDll, "--correlator", CorrelatorUrl,
                "--ca", Path.Combine(PkiDirectory, "ca.crt"),
                "--cert", Path.Combine(PkiDirectory, "client-lab.crt"),
                "--key", Path.Combine(PkiDirectory, "client-lab.key"),
                .. arguments,
            ],
            timeout,
            cancellationToken,
            RepositoryRoot);

    /// <summary>Polls <paramref name="done"/> every 500 ms; fails the test with the logs after <paramref name="timeout"/>.</summary>
    public async Task PollAsync(string what, Func<Task<bool>> done, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = TimeProvider.System.GetUtcNow() + timeout;
        while (!await done().ConfigureAwait(false))
        {
            if (TimeProvider.System.GetUtcNow() > deadline)
            {
                Assert.Fail($"timed out waiting for {what}\n{LogTails()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>The last lines of the correlator's and every agent's log, for failure messages.</summary>
    public string LogTails(int lines = 15)
    {
        var logs = Path.Combine(StateDirectory, "logs");
        var text = new StringBuilder();
        foreach (var name in new[] { "correlator", "agent-vm1", "agent-hv1", "agent-hv2", "agent-vm2" })
        {
            var file = Path.Combine(logs, name + ".log");
            text.Append("--- ").Append(name).Append(".log\n");
            text.Append(File.Exists(file) ? ProcessResult.Tail(ReadShared(file), lines) : "(missing)").Append('\n');
        }

        return text.ToString();
    }

    // The processes still write their logs; open without locking them out.
    private static string ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
