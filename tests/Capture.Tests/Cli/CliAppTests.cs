using HopCapture.Cli;

namespace HopCapture.Tests.Cli;

/// <summary>The whole CLI in-process: argument handling, exit codes and the one-line errors.</summary>
public class CliAppTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [TestCase("paths")]
    [TestCase("agents")]
    [TestCase("probes", "--min-rtt", "20ms")]
    [TestCase("explain", "42")]
    [TestCase("watch", "--count", "1")]
    public async Task RunAsync_ClosedLoopbackPort_Exit3WithOneLineOnStderrOnly(params string[] command)
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";

        var result = await Run([.. command, "--correlator", url]);

        Assert.That(result.ExitCode, Is.EqualTo(3));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Is.EqualTo(
            $"capture: cannot reach the correlator at {url} (connection refused). Is it running? Use --correlator or HOPCAPTURE_CORRELATOR.\n"));
    }

    [Test]
    public async Task RunAsync_SlowAnswer_TimedOutExit6NamingTheDeadlineAndTheServerSeesTheCallEnd()
    {
        await using var server = await CannedQueryServer.StartAsync();
        server.Service.PathsDelay = TimeSpan.FromSeconds(20);

        var result = await Run(["paths", "--timeout", "500ms", "--correlator", server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(6));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Is.EqualTo(
            $"capture: timed out after 0.5 s waiting for the correlator at {server.Url}; a long window may need more: --timeout 60s\n"));
        await server.Service.PathsAbandoned.Task.WaitAsync(Timeout);
    }

    [Test]
    public async Task ProbesAll_StreamPastTheTimeout_Exit6AfterTheRowsSoFarAndTheServerStops()
    {
        await using var server = await CannedQueryServer.StartAsync();

        var result = await Run(["probes", "--all", "--json", "--timeout", "500ms", "--correlator", server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(6));
        Assert.That(result.Stdout.TrimEnd('\n').Split('\n'), Has.Length.EqualTo(2), "the chunk that came before the deadline is printed");
        Assert.That(result.Stderr, Is.EqualTo(
            $"capture: timed out after 0.5 s waiting for the correlator at {server.Url}; a long window may need more: --timeout 60s\n"));
        Assert.That(server.Service.ExportDeadline, Is.Not.Null, "the deadline travels with the call");
        await server.Service.ExportAbandoned.Task.WaitAsync(Timeout);
    }

    [Test]
    public async Task ProbesAll_NoTimeoutGivenAndTheStreamStalls_Exit6NamingTheStallAndTheServerStops()
    {
        await using var server = await CannedQueryServer.StartAsync();
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr) { Environment = _ => null, CallTimeout = TimeSpan.FromMilliseconds(500) };

        var exitCode = await CliApp.RunAsync(["probes", "--all", "--correlator", server.Url], context).WaitAsync(Timeout);

        Assert.That(exitCode, Is.EqualTo(6));
        Assert.That(server.Service.ExportDeadline, Is.Null, "an export without --timeout has no total deadline");
        Assert.That(stdout.ToString(), Does.Contain("192.168.47.111 → 192.168.47.127"), "rows print as they arrive");
        Assert.That(stderr.ToString(), Is.EqualTo(
            $"capture: timed out after 0.5 s waiting for more probes from the correlator at {server.Url} (2 printed); --timeout gives the whole export a deadline instead\n"));
        await server.Service.ExportAbandoned.Task.WaitAsync(Timeout);
    }

    [Test]
    public async Task ProbesAll_CtrlC_Exit130AndTheServerStops()
    {
        await using var server = await CannedQueryServer.StartAsync();
        using var interrupt = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var result = await Run(["probes", "--all", "--json", "--correlator", server.Url], cancellationToken: interrupt.Token);

        Assert.That(result.ExitCode, Is.EqualTo(130));
        Assert.That(result.Stderr, Is.EqualTo("capture: interrupted\n"));
        await server.Service.ExportAbandoned.Task.WaitAsync(Timeout);
    }

    [Test]
    public async Task RunAsync_LongerTimeout_WaitsForTheSlowAnswer()
    {
        await using var server = await CannedQueryServer.StartAsync();
        server.Service.PathsDelay = TimeSpan.FromSeconds(1);

        var result = await Run(["--timeout", "20s", "paths", "--correlator", server.Url]);

        Assert.That(result.ExitCode, Is.Zero, result.Stderr);
        Assert.That(result.Stdout, Does.Contain("192.168.47.111"));
    }

    [TestCase("0s")]
    [TestCase("soon")]
    public async Task RunAsync_BadTimeout_UsageExit2(string value)
    {
        var result = await Run(["paths", "--timeout", value, "--correlator", "http://127.0.0.1:1"]);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stderr, Does.Contain("--timeout"));
    }

    [Test]
    public async Task RunAsync_JsonAndCorrelatorBeforeTheCommand_AreGlobalToo()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";

        var result = await Run(["--json", "--correlator", url, "paths"]);

        Assert.That(result.ExitCode, Is.EqualTo(3));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Does.Contain(url));
    }

    [Test]
    public async Task RunAsync_EnvironmentVariable_IsTheDefaultCorrelator()
    {
        var url = $"http://127.0.0.1:{ClosedPort()}";
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exitCode = await CliApp.RunAsync(
            ["paths"],
            new CliContext(stdout, stderr) { Environment = name => name == "HOPCAPTURE_CORRELATOR" ? url : null })
            .WaitAsync(Timeout);

        Assert.That(exitCode, Is.EqualTo(3));
        Assert.That(stderr.ToString(), Does.StartWith($"capture: cannot reach the correlator at {url} ("));
    }

    [TestCase(new[] { "probes", "--bogus" }, "'--bogus'")]
    [TestCase(new[] { "frobnicate" }, "'frobnicate'")]
    [TestCase(new[] { "probes", "--since", "yesterday" }, "--since: 'yesterday' is not")]
    [TestCase(new[] { "probes", "--until", "5 o'clock" }, "--until: '5 o'clock' is not")]
    [TestCase(new[] { "watch", "--min-rtt", "20" }, "--min-rtt: '20' needs a unit")]
    [TestCase(new[] { "watch", "--duration", "forever" }, "--duration: 'forever' is not")]
    [TestCase(new[] { "probes", "--src", "10.77.0.999" }, "--src: '10.77.0.999' is not an IP address")]
    [TestCase(new[] { "probes", "--order", "size" }, "--order: 'size' is not one of time, rtt")]
    [TestCase(new[] { "probes", "--limit", "0" }, "--limit: '0' is not a whole number")]
    [TestCase(new[] { "probes", "--limit", "20000" }, "--limit: '20000' is not a whole number from 1 to 10000")]
    [TestCase(new[] { "probes", "--all", "--limit", "5" }, "--all prints every matching probe; leave out --limit")]
    [TestCase(new[] { "probes", "--all", "--order", "rtt" }, "--all exports newest first")]
    [TestCase(new[] { "probes", "--since", "1h", "--until", "2h" }, "--since must be earlier than --until")]
    [TestCase(new[] { "explain" }, "give a probe ID, or --src IP --dst IP --seq N")]
    [TestCase(new[] { "explain", "42", "--seq", "110" }, "not both")]
    [TestCase(new[] { "explain", "--seq", "70000" }, "--seq: '70000' is not a whole number from 0 to 65535")]
    [TestCase(new[] { "paths", "--correlator", "ftp://x" }, "--correlator: 'ftp://x' is not a URL")]
    [TestCase(new[] { "trace", "--from", "vm1", "--to", "vm2", "--against", "nonsense" }, "--against: 'nonsense' is not a freeze id")]
    [TestCase(new[] { "host" }, "'--node'")]
    [TestCase(new[] { "host", "--node", "hv1", "--since", "soon" }, "--since: 'soon' is not")]
    [TestCase(new string[0], "no command given")]
    public async Task RunAsync_BadUsage_Exit2WithOneLineNamingTheProblem(string[] args, string expected)
    {
        var result = await Run(args);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Does.StartWith("capture: ").And.Contain(expected));
        Assert.That(result.Stderr.TrimEnd('\n'), Does.Not.Contain('\n'), "one line");
    }

    [Test]
    public async Task RunAsync_Help_ListsCommandsAndGlobalOptions()
    {
        var result = await Run(["--help"]);

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Stdout, Does.Contain("agents").And.Contain("paths").And.Contain("probes")
            .And.Contain("explain").And.Contain("watch").And.Contain("--correlator <URL>").And.Contain("--json"));
    }

    internal static async Task<(int ExitCode, string Stdout, string Stderr)> Run(
        string[] args, bool stderrIsTerminal = false, CancellationToken cancellationToken = default)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr) { Environment = _ => null, ErrorIsTerminal = stderrIsTerminal };
        var exitCode = await CliApp.RunAsync(args, context, cancellationToken)
            .WaitAsync(Timeout, CancellationToken.None);
        return (exitCode, stdout.ToString(), stderr.ToString());
    }

    /// <summary>A loopback port nobody listens on: bound, read, released.</summary>
    internal static int ClosedPort() => LoopbackPorts.Free();
}
