using HopCapture.Agent;
using HopCapture.Agent.Configuration;
using HopCapture.Engine.Model;
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
                "--node", "hv1", "--correlator=http://10.0.0.1:7400", "--iface", "eno1=nic:bond0", "--iface", "tap100i0=VIF",
                "--replay", $"eno1={replay}", "--Agent:Snaplen=256",
            ]);

            Assert.Multiple(() =>
            {
                Assert.That(options.Node, Is.EqualTo("hv1"));
                Assert.That(options.Correlator, Is.EqualTo("http://10.0.0.1:7400"));
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

    [Test]
    public void Resolve_NoInterfacesAndBadUrl_ReportsBoth()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => Resolve(["--correlator", "localhost:7400"]));
        Assert.That(ex!.Failures, Has.Some.StartsWith("Agent:Correlator:").And.Some.StartsWith("Agent:Interfaces:"));
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
