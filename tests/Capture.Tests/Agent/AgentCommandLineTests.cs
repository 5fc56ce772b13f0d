using HopCapture.Agent.Configuration;
using HopCapture.Hosting.CommandLine;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Agent;

/// <summary>The agent's flags, and the real exe refusing what it does not know.</summary>
[CancelAfter(120_000)]
public class AgentCommandLineTests
{
    private static readonly TimeSpan ExeTimeout = TimeSpan.FromSeconds(60);

    private static Task<ProcessResult> RunAgentAsync(CancellationToken cancellationToken, params string[] args) =>
        ProcessRunner.RunAsync("dotnet", [RepoPaths.Executable("Agent", "hopcapture-agent"), .. args], ExeTimeout, cancellationToken);

    [Test]
    public async Task Exe_UnknownFlag_ExitsTwoNamingIt(CancellationToken cancellationToken)
    {
        var result = await RunAgentAsync(cancellationToken, "--nosuchflag", "1", "--iface", "lo=nic");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.StdErr.TrimEnd(), Is.EqualTo("hopcapture-agent: unknown option '--nosuchflag' (see --help)"));
            Assert.That(result.StdOut, Is.Empty);
        });
    }

    [Test]
    public async Task Exe_MisspelledSection_ExitsTwoNamingIt(CancellationToken cancellationToken)
    {
        var result = await RunAgentAsync(cancellationToken, "--Agnet:Node=hv1", "--iface", "lo=nic");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.StdErr.TrimEnd(), Is.EqualTo("hopcapture-agent: unknown option '--Agnet:Node': no section 'Agnet' (use Agent or Logging) (see --help)"));
        });
    }

    [Test]
    public async Task Exe_BadIfaceRole_ExitsTwoWithOneLine(CancellationToken cancellationToken)
    {
        var result = await RunAgentAsync(cancellationToken, "--iface", "eth0=router");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
            Assert.That(result.StdErr.TrimEnd().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(result.StdErr, Does.StartWith("hopcapture-agent: --iface eth0=router: role 'router'"));
        });
    }

    [Test]
    public async Task Exe_Help_ListsEveryFlagWithItsConfigKey(CancellationToken cancellationToken)
    {
        var result = await RunAgentAsync(cancellationToken, "--help");

        var lines = result.StdOut.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(lines[0], Does.StartWith("usage: hopcapture-agent"));
            Assert.That(AgentCommandLine.Definition.Flags.Select(f => f.Name), Is.EquivalentTo(new[] { "--node", "--correlator", "--iface", "--replay", "--state-dir" }));
            foreach (var flag in AgentCommandLine.Definition.Flags)
            {
                Assert.That(lines, Has.Some.Contains(flag.Name + " ").And.Contains(flag.Key).And.Contains(flag.Description), flag.Name);
            }

            Assert.That(lines, Has.Some.Contains("--config FILE.json").And.Some.Contains("--Agent:KEY").And.Some.Contains("--version"));
            Assert.That(lines, Has.Some.Contains("3 the state directory or spool cannot be used"));
            Assert.That(result.StdErr, Is.Empty);
        });
    }

    [Test]
    public async Task Exe_Version_PrintsTheInformationalVersion(CancellationToken cancellationToken)
    {
        var result = await RunAgentAsync(cancellationToken, "--version");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.StdOut.Trim(), Is.EqualTo(AgentCommandLine.Definition.Version));
            Assert.That(result.StdOut, Does.StartWith("0.1.0"));
        });
    }

    /// <summary>The command lines build/lab.sh, the tests and the systemd unit start agents with.</summary>
    [TestCase("--node", "hv1", "--correlator", "http://10.250.0.1:7400", "--iface", "tap100i0=vif", "--iface", "eno1=nic")]
    [TestCase("--node", "vm1", "--correlator", "http://127.0.0.1:7400", "--iface", "eth0=guest", "--replay", "eth0=/tmp/vm1.pcap")]
    [TestCase("--config", "/etc/hopcapture/agent.json")]
    public void Parse_CommandLinesInUse_Parse(params string[] args)
    {
        Assert.DoesNotThrow(() => AgentCommandLine.Parse(args));
    }

    [Test]
    public void Parse_NodeAndCorrelatorFlags_SetTheirKeys()
    {
        var commandLine = AgentCommandLine.Parse(["--node", "hv1", "--correlator=http://10.0.0.1:7400", "--Agent:Snaplen", "256"]);

        Assert.That(commandLine.Settings, Is.EquivalentTo(new Dictionary<string, string?>
        {
            ["Agent:Node"] = "hv1",
            ["Agent:Correlator"] = "http://10.0.0.1:7400",
            ["Agent:Snaplen"] = "256",
        }));
    }

    [Test]
    public void Parse_ServiceUnitExecStart_Parses()
    {
        var args = DeployUnits.ExecStartArguments("hopcapture-agent.service", "hopcapture-agent.dll");

        Assert.That(AgentCommandLine.Parse(args).ConfigFile, Is.EqualTo("/etc/hopcapture/agent.json"));
    }

    [Test]
    public void Parse_UnknownFlag_ThrowsNamingIt()
    {
        var ex = Assert.Throws<CommandLineException>(() => AgentCommandLine.Parse(["--iface", "eth0=nic", "--nosuchflag", "1"]));

        Assert.That(ex!.Message, Is.EqualTo("unknown option '--nosuchflag'"));
    }
}
