using System.Text.Json;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Agent.Discovery;

/// <summary>The built agent's <c>discover</c> subcommand, run as a process against the fixture trees.</summary>
[CancelAfter(120_000)]
public class DiscoverCommandTests
{
    private static readonly TimeSpan ExeTimeout = TimeSpan.FromSeconds(60);

    private static Task<ProcessResult> RunAgentAsync(CancellationToken cancellationToken, params string[] args) =>
        ProcessRunner.RunAsync("dotnet", [RepoPaths.Executable("Agent", "hopcapture-agent"), .. args], ExeTimeout, cancellationToken);

    [Test]
    public async Task Exe_DiscoverProxmoxJson_EveryFieldOfEveryInterface(CancellationToken cancellationToken)
    {
        var result = await RunAgentAsync(cancellationToken, "discover", "--root", HostDiscoveryTests.Fixture("proxmox-node"), "--json");

        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        using var json = JsonDocument.Parse(result.StdOut);
        var root = json.RootElement;
        var rows = root.GetProperty("interfaces").EnumerateArray().Select(i => string.Join('|',
            i.GetProperty("name").GetString(), i.GetProperty("role").GetString(), i.GetProperty("point").GetString(),
            i.GetProperty("source").GetString(), i.GetProperty("vmId").GetString(), i.GetProperty("vmName").GetString(),
            i.GetProperty("vmNic").GetInt32(), i.GetProperty("vmMac").GetString(), i.GetProperty("detail").GetString())).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("kind").GetString(), Is.EqualTo("proxmox"));
            Assert.That(rows, Is.EqualTo(new[]
            {
                "eno1|nic|bond0|sysfs|||-1||slave of bond0",
                "eno2|nic|bond0|sysfs|||-1||slave of bond0",
                "eno3|nic|eno3|sysfs|||-1||port of vmbr1, vlans 100, down",
                "tap100i0|vif|tap100i0|proxmox|100|web01|0|bc:24:11:aa:64:00|virtio vmbr0 firewall",
                "tap100i1|vif|tap100i1|proxmox|100|web01|1|bc:24:11:aa:64:01|e1000 vmbr1 tag 20",
                "tap101i0|vif|tap101i0|proxmox|101|db01|0|bc:24:11:aa:65:00|vmxnet3 vmbr0",
                "veth103i0|vif|veth103i0|proxmox|103|dns01|0|bc:24:11:aa:67:00|vmbr0, container",
            }));
            Assert.That(root.GetProperty("warnings").GetArrayLength(), Is.Zero);
            Assert.That(root.GetProperty("interfaces")[0].GetProperty("vmId").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });
    }

    [Test]
    public async Task Exe_DiscoverLibvirtTable_RowsThenWarnings(CancellationToken cancellationToken)
    {
        var fixture = HostDiscoveryTests.Fixture("libvirt-host");
        var result = await RunAgentAsync(cancellationToken, "discover", "--root", fixture);

        var lines = result.StdOut.Replace(fixture, "<root>", StringComparison.Ordinal).TrimEnd().Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(lines[0], Is.EqualTo("libvirt node: 4 interface(s) to capture"));
            Assert.That(lines[1], Does.Match("^name +role +point +source +vm id +vm name +nic +vm mac +detail$"));
            Assert.That(lines[5], Does.Match("^023471 +vif +023471 +libvirt +7a6b5c4d-2222-4e3f-8a9b-0c1d2e3f4a02 +app-023471 +0 +52:54:00:ab:cd:ef +virtio br0$"));
            Assert.That(lines[6], Does.StartWith("warning: <root>/run/libvirt/qemu/notarget.xml: domain starting01 interface 0"));
            Assert.That(lines, Has.Length.EqualTo(8));
        });
    }

    [Test]
    public async Task Exe_DiscoverNothingFound_ExitsOne(CancellationToken cancellationToken)
    {
        var empty = Directory.CreateTempSubdirectory("hc-disc-").FullName;
        try
        {
            var result = await RunAgentAsync(cancellationToken, "discover", "--root", empty, "--json");
            Assert.Multiple(() =>
            {
                Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
                Assert.That(result.StdOut, Does.Contain("\"interfaces\": []").And.Contain("cannot list network interfaces"));
            });
        }
        finally
        {
            Directory.Delete(empty, true);
        }
    }

    [Test]
    public async Task Exe_DiscoverHelpAndBadFlag_HelpExitsZeroBadFlagTwo(CancellationToken cancellationToken)
    {
        var help = await RunAgentAsync(cancellationToken, "discover", "--help");
        var bad = await RunAgentAsync(cancellationToken, "discover", "--roots", "/");
        Assert.Multiple(() =>
        {
            Assert.That(help.ExitCode, Is.Zero);
            Assert.That(help.StdOut, Does.StartWith("usage: hopcapture-agent discover").And.Contain("--root DIR").And.Contain("--json"));
            Assert.That(bad.ExitCode, Is.EqualTo(2));
            Assert.That(bad.StdErr.TrimEnd(), Is.EqualTo("hopcapture-agent discover: unknown option '--roots' (see --help)"));
        });
    }

    [Test]
    public async Task Exe_DiscoverConfigInclude_AppliesAgentDiscoverySection(CancellationToken cancellationToken)
    {
        var result = await RunAgentAsync(cancellationToken, "discover", "--root", HostDiscoveryTests.Fixture("guest"), "--Agent:Discovery:Include:0=docker0=bridge", "--json");

        Assert.Multiple(() =>
        {
            Assert.That(result.ExitCode, Is.Zero, result.ToString());
            Assert.That(result.StdOut, Does.Contain("\"name\": \"docker0\",\n      \"role\": \"bridge\""));
        });
    }
}
