using HopCapture.Correlator.Hosting;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Correlator;

/// <summary>The correlator's flags, and the real exe refusing what it does not know.</summary>
[CancelAfter(120_000)]
public class CorrelatorCommandLineTests
{
    private static readonly TimeSpan ExeTimeout = TimeSpan.FromSeconds(60);

    private static Task<ProcessResult> RunCorrelatorAsync(CancellationToken cancellationToken, params string[] args) =>
        ProcessRunner.RunAsync("dotnet", [RepoPaths.Executable("Correlator", "hopcapture-correlator"), .. args], ExeTimeout, cancellationToken);

    [Test]
    public async Task Exe_UnknownFlag_ExitsTwoNamingIt(CancellationToken cancellationToken)
    {
        var result = await RunCorrelatorAsync(cancellationToken, "--listen", "127.0.0.1:0", "--nosuchflag", "1");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.StdErr.TrimEnd(), Is.EqualTo("hopcapture-correlator: unknown option '--nosuchflag' (see --help)"));
            Assert.That(result.StdOut, Is.Empty);
        });
    }

    [Test]
    public async Task Exe_Help_ListsEveryFlagWithItsConfigKey(CancellationToken cancellationToken)
    {
        var result = await RunCorrelatorAsync(cancellationToken, "--help");

        var lines = result.StdOut.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(lines[0], Does.StartWith("usage: hopcapture-correlator"));
            Assert.That(CorrelatorCommandLine.Definition.Flags.Select(f => (f.Name, f.Key)), Is.EquivalentTo(new[]
            {
                ("--listen", "Correlator:Listen"), ("--db", "Correlator:Database"), ("--metrics", "Correlator:Metrics:Listen"),
            }));
            foreach (var flag in CorrelatorCommandLine.Definition.Flags)
            {
                Assert.That(lines, Has.Some.Contains(flag.Name + " ").And.Contains(flag.Key).And.Contains(flag.Description), flag.Name);
            }

            Assert.That(lines, Has.Some.Contains("--config FILE.json").And.Some.Contains("--Correlator:KEY").And.Some.Contains("--version"));
            Assert.That(result.StdErr, Is.Empty);
        });
    }

    [TestCase(null, "256 MiB")]
    [TestCase("0x20000000", "512 MiB")]
    [TestCase("0", "none")]
    public async Task Exe_Started_StatesTheHeapLimitItShipsWithOrTheEnvironmentSets(string? environment, string expected, CancellationToken cancellationToken)
    {
        var line = await StartedStderrLineAsync(environment, [], "GC heap limit", cancellationToken);

        // The runtimeconfig's limit holds the process to ~370 MB at full rate (README, "Correlator memory").
        Assert.That(line, Is.EqualTo($"correlator: GC heap limit {expected} (DOTNET_GCHeapHardLimit, hex bytes, overrides it)"));
    }

    [Test]
    public async Task Exe_MaxInFlightRaisedAlone_WarnsWithTheHeapLimitToSet(CancellationToken cancellationToken)
    {
        var line = await StartedStderrLineAsync(null, ["--Correlator:Engine:MaxInFlight=128000"], "MaxInFlight", cancellationToken);

        Assert.That(line, Is.EqualTo(
            "correlator: Correlator:Engine:MaxInFlight 128000 may not fit the GC heap limit of 256 MiB (64,000 fit 256 MiB through a start at full rate, " +
            "128,000 ran out of memory): raise it with the probes, e.g. DOTNET_GCHeapHardLimit=0x20000000 (512 MiB)"));
    }

    [TestCase(64_000, 256, null)]
    [TestCase(128_000, 512, null)]
    [TestCase(200_000, 0, null)]
    [TestCase(100_000, 256, "DOTNET_GCHeapHardLimit=0x1C000000 (448 MiB)")]
    public void MemoryWarning_ProbesAgainstTheHeapLimit_OnlyWhenMoreThanItHeldInProportion(int maxInFlight, long limitMiB, string? advice)
    {
        var warning = CorrelatorApp.MemoryWarning(maxInFlight, limitMiB << 20);

        Assert.That(warning, advice is null ? Is.Null : Does.EndWith(advice));
    }

    /// <summary>Starts the real exe (with DOTNET_GCHeapHardLimit=<paramref name="environment"/> when given) and returns the first stderr line containing <paramref name="containing"/>.</summary>
    private static async Task<string?> StartedStderrLineAsync(string? environment, string[] extra, string containing, CancellationToken cancellationToken)
    {
        var dir = Directory.CreateTempSubdirectory("hopcapture-heap-").FullName;
        var start = new System.Diagnostics.ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in (string[])[RepoPaths.Executable("Correlator", "hopcapture-correlator"), "--listen", "127.0.0.1:0", "--db", Path.Combine(dir, "h.db"), "--Correlator:Plaintext=true", .. extra])
        {
            start.ArgumentList.Add(arg);
        }

        if (environment is not null)
        {
            start.Environment["DOTNET_GCHeapHardLimit"] = environment;
        }

        using var process = System.Diagnostics.Process.Start(start)!;
        try
        {
            string? line;
            do
            {
                line = await process.StandardError.ReadLineAsync(cancellationToken).AsTask().WaitAsync(ExeTimeout, cancellationToken);
            }
            while (line is not null && !line.Contains(containing, StringComparison.Ordinal));

            return line;
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync(CancellationToken.None);
            Directory.Delete(dir, recursive: true);
        }
    }

    [TestCase(new[] { "--listen", "127.0.0.1:0", "--db" }, "hopcapture-correlator: --db needs a value (see --help)")]
    [TestCase(new[] { "--Corelator:Listen=127.0.0.1:0" }, "hopcapture-correlator: unknown option '--Corelator:Listen': no section 'Corelator' (use Correlator or Logging) (see --help)")]
    public async Task RunAsync_BadCommandLine_ExitsTwoWithOneLine(string[] args, string expected)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await CorrelatorApp.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(stderr.ToString().TrimEnd(), Is.EqualTo(expected));
            Assert.That(stdout.ToString(), Is.Empty);
        });
    }

    [Test]
    public async Task RunAsync_Version_PrintsTheInformationalVersion()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await CorrelatorApp.RunAsync(["--version"], stdout, stderr).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.Zero);
            Assert.That(stdout.ToString().Trim(), Is.EqualTo(CorrelatorCommandLine.Definition.Version).And.StartsWith("0.1.0"));
        });
    }

    /// <summary>The command lines build/lab.sh, bench/ and the tests start the correlator with.</summary>
    [Test]
    public void Parse_CommandLinesInUse_SetTheirKeys()
    {
        var lab = CorrelatorCommandLine.Definition.Parse(
            ["--listen", "10.250.0.1:7400", "--db", "/run/lab.db", "--Correlator:Engine:Settle=00:00:01", "--config", "rules.json"]);
        var bench = CorrelatorCommandLine.Definition.Parse(["--listen", "127.0.0.1:0", "--db", "x.db", "--Logging:LogLevel:Default=Warning", "--metrics", "127.0.0.1:0"]);

        Assert.Multiple(() =>
        {
            Assert.That(lab.Settings, Is.EquivalentTo(new Dictionary<string, string?>
            {
                ["Correlator:Listen"] = "10.250.0.1:7400",
                ["Correlator:Database"] = "/run/lab.db",
                ["Correlator:Engine:Settle"] = "00:00:01",
            }));
            Assert.That(lab.ConfigFile, Is.EqualTo("rules.json"));
            Assert.That(bench.Settings["Logging:LogLevel:Default"], Is.EqualTo("Warning"));
            Assert.That(bench.Settings["Correlator:Metrics:Listen"], Is.EqualTo("127.0.0.1:0"));
        });
    }

    [Test]
    public void Parse_ServiceUnitExecStart_Parses()
    {
        var args = DeployUnits.ExecStartArguments("hopcapture-correlator.service", "hopcapture-correlator.dll");

        // The packaged unit (issue 10) reads everything from the conffile.
        Assert.That(CorrelatorCommandLine.Definition.Parse(args).ConfigFile, Is.EqualTo("/etc/hopcapture/correlator.json"));
    }
}
