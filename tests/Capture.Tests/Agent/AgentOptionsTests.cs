using HopCapture.Agent;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Discovery;
using HopCapture.Engine.Model;
using HopCapture.Tests.Support;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Agent;

public class AgentOptionsTests
{
    private static AgentOptions Resolve(string[] args, Dictionary<string, string?>? config = null)
    {
        var commandLine = AgentCommandLine.Parse(args);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(config ?? [])
            .AddInMemoryCollection(commandLine.Settings)
            .Build();
        var services = new ServiceCollection().AddLogging().AddCaptureAgent(configuration, commandLine);
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<AgentOptions>>().Value;
    }

    [Test]
    public void Parse_GoodFlags_FillsOptions()
    {
        var replay = Path.GetTempFileName();
        try
        {
            var options = Resolve(
            [
                "--node", "hv1", "--correlator=http://127.0.0.2:7400", "--iface", "eno1=nic:bond0", "--iface", "tap100i0=VIF",
                "--replay", $"eno1={replay}", "--Agent:Snaplen=256",
            ]);

            Assert.Multiple(() =>
            {
                Assert.That(options.Node, Is.EqualTo("hv1"));
                Assert.That(options.Correlator, Is.EqualTo("http://127.0.0.2:7400"));
                Assert.That(options.Snaplen, Is.EqualTo(256));
                Assert.That(options.Interfaces, Has.Count.EqualTo(2));
                Assert.That(options.Interfaces[0].Name, Is.EqualTo("eno1"));
                Assert.That(options.Interfaces[0].ParsedRole, Is.EqualTo(PointRole.Nic));
                Assert.That(options.Interfaces[0].Point, Is.EqualTo("bond0"));
                Assert.That(options.Interfaces[0].Replay, Is.EqualTo(replay));
                Assert.That(options.Interfaces[1].ParsedRole, Is.EqualTo(PointRole.Vif));
                Assert.That(options.Interfaces[1].Point, Is.Null);
                Assert.That(options.ReplayOnly, Is.False);
                Assert.That(options.BatchInterval, Is.EqualTo(TimeSpan.FromMilliseconds(200)));
            });
        }
        finally
        {
            File.Delete(replay);
        }
    }

    [Test]
    public void Parse_BadRole_MessageNamesIt()
    {
        var ex = Assert.Throws<AgentConfigException>(() => AgentCommandLine.Parse(["--iface", "eth0=router"]));
        Assert.That(ex!.Message, Does.Contain("'router'").And.Contain("eth0=router").And.Contain("guest|vif|bridge|nic"));
    }

    [Test]
    public void Parse_IfaceWithoutRole_MessageShowsTheForm()
    {
        var ex = Assert.Throws<AgentConfigException>(() => AgentCommandLine.Parse(["--iface", "eth0"]));
        Assert.That(ex!.Message, Does.Contain("NAME=ROLE[:POINT]"));
    }

    [Test]
    public void Resolve_MissingNode_DefaultsToHostName()
    {
        var options = Resolve(["--iface", "eth0=guest"]);
        Assert.That(options.Node, Is.EqualTo(Environment.MachineName));
    }

    [Test]
    public void Resolve_ConfigFileInterfacesAndBadRole_ValidationNamesTheKey()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve([], new()
        {
            ["Agent:Interfaces:0:Name"] = "eth0",
            ["Agent:Interfaces:0:Role"] = "switch",
        }));
        Assert.That(ex!.Failures, Has.Some.EqualTo("Agent:Interfaces[0]:Role: 'switch' is not a role (guest|vif|bridge|nic)"));
    }

    // Issue 10: no interface list used to be a start-up failure ("Agent:Interfaces: no interface
    // to capture on"); it now means discovery, so only the bad URL is reported.
    [Test]
    public void Resolve_NoInterfacesAndBadUrl_DiscoversAndReportsTheUrl()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(["--correlator", "localhost:7400"]));
        Assert.That(ex!.Failures, Has.Some.StartsWith("Agent:Correlator:").And.None.StartsWith("Agent:Interfaces:"));
    }

    [TestCase("auto")]
    [TestCase("AUTO")]
    [TestCase(null)]
    public void Resolve_InterfacesAutoOrMissing_SelectsDiscovery(string? value)
    {
        var config = new Dictionary<string, string?> { ["Agent:Interfaces"] = value, ["Agent:DiscoveryRoot"] = "/tmp/x" };
        var options = Resolve([], config);
        Assert.Multiple(() =>
        {
            Assert.That(options.AutoInterfaces, Is.True);
            Assert.That(options.Interfaces, Is.Empty);
            Assert.That(options.DiscoveryRoot, Is.EqualTo("/tmp/x"));
            Assert.That(options.Tunnels, Is.True);
        });
    }

    [TestCase("00:00:00.5")]
    [TestCase("02:00:00")]
    public void Resolve_HostEvidenceSettingsEveryOutOfRange_ValidationNamesTheKey(string every)
    {
        var config = new Dictionary<string, string?> { ["Agent:Interfaces:0:Name"] = "eth0", ["Agent:HostEvidence:SettingsEvery"] = every };
        var services = new ServiceCollection().AddLogging().AddCaptureAgent(new ConfigurationBuilder().AddInMemoryCollection(config).Build());
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => _ = provider.GetRequiredService<IOptions<HopCapture.Agent.Evidence.HostEvidenceOptions>>().Value);

        Assert.That(ex!.Failures, Is.EqualTo(new[] { "Agent:HostEvidence:SettingsEvery: must be at least Interval and at most 1 h" }));
    }

    [Test]
    public void Resolve_InterfacesOtherScalar_ValidationNamesTheKey()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve([], new() { ["Agent:Interfaces"] = "eth0" }));
        Assert.That(ex!.Failures, Has.Some.EqualTo("Agent:Interfaces: 'eth0' is neither 'auto' nor a list of interfaces"));
    }

    [Test]
    public void Resolve_InterfaceList_IsStaticSource()
    {
        var config = new Dictionary<string, string?> { ["Agent:Interfaces:0:Name"] = "eth0", ["Agent:Interfaces:0:Role"] = "nic", ["Agent:Interfaces:0:Point"] = "bond0" };
        var services = new ServiceCollection().AddLogging().AddCaptureAgent(new ConfigurationBuilder().AddInMemoryCollection(config).Build());
        using var provider = services.BuildServiceProvider();
        var result = provider.GetRequiredService<IInterfaceSource>().Current();
        var interfaces = provider.GetRequiredService<AgentInterfaces>();
        Assert.Multiple(() =>
        {
            Assert.That(provider.GetRequiredService<IOptions<AgentOptions>>().Value.AutoInterfaces, Is.False);
            Assert.That(result.Kind, Is.EqualTo("config"));
            Assert.That(result.Interfaces, Is.EqualTo(new[] { new DiscoveredInterface("eth0", PointRole.Nic, "bond0", "config") }));
            Assert.That(interfaces.All.Where(i => i.Role != PointRole.App).Select(i => (i.Name, i.Role, i.Point)), Is.EqualTo(new[] { ("eth0", PointRole.Nic, "bond0") }));
        });
    }

    [Test]
    public void Resolve_Auto_AgentInterfacesStartWithWhatDiscoveryFinds()
    {
        var root = Path.Combine(RepoPaths.Root, "tests/Capture.Tests/Fixtures/Discovery/guest");
        var config = new Dictionary<string, string?> { ["Agent:Interfaces"] = "auto", ["Agent:DiscoveryRoot"] = root, ["Agent:Probing:Enabled"] = "false" };
        var services = new ServiceCollection().AddLogging().AddCaptureAgent(new ConfigurationBuilder().AddInMemoryCollection(config).Build());
        using var provider = services.BuildServiceProvider();
        Assert.Multiple(() =>
        {
            Assert.That(provider.GetRequiredService<IInterfaceSource>(), Is.InstanceOf<HostDiscovery>());
            Assert.That(provider.GetRequiredService<AgentInterfaces>().All.Where(i => i.Role != PointRole.App).Select(i => (i.Name, i.Role, i.Point)),
                Is.EqualTo(new[] { ("ens18", PointRole.Guest, "ens18"), ("ens19", PointRole.Guest, "ens19") }));
        });
    }

    [Test]
    public void Resolve_ReplayForUnknownInterface_NamesIt()
    {
        var ex = Assert.Throws<AgentConfigException>(() => Resolve(["--iface", "eth0=nic", "--replay", "eth9=/tmp/x.pcap"]));
        Assert.That(ex!.Message, Does.Contain("'eth9'"));
    }

    [Test]
    public void Resolve_CommandLineIfaces_ReplaceConfigFileList()
    {
        var options = Resolve(["--iface", "eth1=bridge"], new()
        {
            ["Agent:Interfaces:0:Name"] = "eth0",
            ["Agent:Interfaces:0:Role"] = "nic",
            ["Agent:Node"] = "from-file",
        });
        Assert.Multiple(() =>
        {
            Assert.That(options.Interfaces.Select(i => i.Name), Is.EqualTo(Enumerable.Repeat("eth1", 1)));
            Assert.That(options.Node, Is.EqualTo("from-file"));
        });
    }
}
