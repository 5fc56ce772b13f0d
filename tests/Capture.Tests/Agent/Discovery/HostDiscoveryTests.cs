using HopCapture.Agent.Discovery;
using HopCapture.Engine.Model;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Agent.Discovery;

/// <summary>
/// Discovery over the fixture trees in tests/Capture.Tests/Fixtures/Discovery, each a small copy
/// of a node's /etc/pve, /sys/class/net, /run/libvirt and /proc/net/vlan.
/// </summary>
public class HostDiscoveryTests
{
    internal static string Fixture(string name) => Path.Combine(RepoPaths.Root, "tests", "Capture.Tests", "Fixtures", "Discovery", name);

    private static DiscoveryResult Discover(string fixture, DiscoveryOptions? options = null) =>
        new HostDiscovery(Fixture(fixture), options ?? new DiscoveryOptions()).Current();

    private static string[] Relative(DiscoveryResult result, string fixture) =>
        [.. result.Warnings.Select(w => w.Replace(Fixture(fixture), "<root>", StringComparison.Ordinal))];

    [Test]
    public void Current_ProxmoxNode_VifsFromConfigsNicsUnderTheirBond()
    {
        var result = Discover("proxmox-node");

        Assert.Multiple(() =>
        {
            Assert.That(result.Kind, Is.EqualTo("proxmox"));
            Assert.That(result.Warnings, Is.Empty);
            Assert.That(result.Interfaces, Is.EqualTo(new DiscoveredInterface[]
            {
                // The bond master, the bridges, the firewall bridge and its veth pair, and the
                // VLAN sub-interfaces are not capture points (HostDiscovery, ProxmoxDiscovery).
                new("eno1", PointRole.Nic, "bond0", "sysfs", Detail: "slave of bond0"),
                new("eno2", PointRole.Nic, "bond0", "sysfs", Detail: "slave of bond0"),
                new("eno3", PointRole.Nic, "eno3", "sysfs", Detail: "port of vmbr1, vlans 100, down"),
                new("tap100i0", PointRole.Vif, "tap100i0", "proxmox", "100", "web01", 0, "bc:24:11:aa:64:00", "virtio vmbr0 firewall"),
                new("tap100i1", PointRole.Vif, "tap100i1", "proxmox", "100", "web01", 1, "bc:24:11:aa:64:01", "e1000 vmbr1 tag 20"),
                // 101.conf has a [before-upgrade] snapshot with another name and MAC: ignored.
                new("tap101i0", PointRole.Vif, "tap101i0", "proxmox", "101", "db01", 0, "bc:24:11:aa:65:00", "vmxnet3 vmbr0"),
                // VM 102 is stopped (config, no tap); 200 runs on hv2.
                new("veth103i0", PointRole.Vif, "veth103i0", "proxmox", "103", "dns01", 0, "bc:24:11:aa:67:00", "vmbr0, container"),
            }));
        });
    }

    [Test]
    public void Current_ProxmoxFirewallPoints_AddsFwlnAsBridgePoint()
    {
        var result = Discover("proxmox-node", new DiscoveryOptions { FirewallPoints = true });

        Assert.That(result.Interfaces.Where(i => i.Name.StartsWith("fw", StringComparison.Ordinal)), Is.EqualTo(new DiscoveredInterface[]
        {
            new("fwln100i0", PointRole.Bridge, "fwln100i0", "proxmox", "100", "web01", 0, "bc:24:11:aa:64:00", "after the firewall of fwbr100i0"),
        }));
    }

    [Test]
    public void Current_IncludeAndExclude_AddBridgeWithRoleAndDropTap()
    {
        var result = Discover("proxmox-node", new DiscoveryOptions { Include = ["vmbr0=bridge", "vmbr9*"], Exclude = ["tap101*", "eno3"] });

        Assert.Multiple(() =>
        {
            Assert.That(result.Interfaces.Select(i => i.Name), Is.EqualTo(new[] { "vmbr0", "eno1", "eno2", "tap100i0", "tap100i1", "veth103i0" }));
            Assert.That(result.Interfaces.Single(i => i.Name == "vmbr0"),
                Is.EqualTo(new DiscoveredInterface("vmbr0", PointRole.Bridge, "vmbr0", "sysfs", Detail: "included by Agent:Discovery:Include")));
        });
    }

    [Test]
    public void Current_IncludeWithBadRole_WarnsAndGoesOn()
    {
        var result = Discover("guest", new DiscoveryOptions { Include = ["docker0=router"] });

        Assert.Multiple(() =>
        {
            Assert.That(result.Interfaces.Select(i => i.Name), Is.EqualTo(new[] { "ens18", "ens19" }));
            Assert.That(result.Warnings, Is.EqualTo(new[] { "Agent:Discovery:Include: 'docker0=router' has a role that is not one of guest|vif|bridge|nic" }));
        });
    }

    [Test]
    public void Current_MalformedConfAndMissingConf_WarnNamingTheFileAndKeepTheTaps()
    {
        var result = Discover("proxmox-bad");

        Assert.Multiple(() =>
        {
            Assert.That(result.Kind, Is.EqualTo("proxmox"));
            Assert.That(result.Interfaces, Is.EqualTo(new DiscoveredInterface[]
            {
                new("enp1s0", PointRole.Nic, "enp1s0", "sysfs", Detail: "port of vmbr0"),
                // What was readable in the malformed file is kept.
                new("tap300i0", PointRole.Vif, "tap300i0", "proxmox", "300", "broken01", 0, "bc:24:11:bb:2c:00", "virtio vmbr0"),
                new("tap301i0", PointRole.Vif, "tap301i0", "proxmox", "301", "badmac01", 0, null, "vmbr0"),
                new("tap302i0", PointRole.Vif, "tap302i0", "proxmox", "302", null, 0, null, "no config"),
            }));
            Assert.That(Relative(result, "proxmox-bad"), Is.EqualTo(new[]
            {
                "<root>/etc/pve/qemu-server/300.conf: line 2: 'this line is garbage' is not 'key: value'",
                "<root>/etc/pve/qemu-server/301.conf: line 2: net0 has no MAC address ('virtio=not-a-mac,bridge=vmbr0')",
                "<root>/etc/pve/qemu-server/302.conf: no such file (guest 302 has an interface but no config on this node)",
            }));
        });
    }

    /// <summary>
    /// /etc/pve not mounted: qemu-server is a symlink into nodes/ that dangles. (chmod 000 would
    /// not do: the tests run as root, who reads it anyway.)
    /// </summary>
    [Test]
    public void Current_UnreadablePve_OneWarningTapsStillVifs()
    {
        var result = Discover("proxmox-unreadable");

        Assert.Multiple(() =>
        {
            Assert.That(result.Interfaces, Is.EqualTo(new DiscoveredInterface[]
            {
                new("eno1", PointRole.Nic, "eno1", "sysfs", Detail: "port of vmbr0"),
                new("tap400i0", PointRole.Vif, "tap400i0", "proxmox", "400", null, 0, null, "no config"),
            }));
            Assert.That(Relative(result, "proxmox-unreadable"), Is.EqualTo(new[]
            {
                "<root>/etc/pve/qemu-server: not a readable directory (is /etc/pve mounted?); names and MACs of the guests on this node are unknown",
            }));
        });
    }

    [Test]
    public void Current_LibvirtHost_VifsFromLiveXmlAnyTargetName()
    {
        var result = Discover("libvirt-host");

        Assert.Multiple(() =>
        {
            Assert.That(result.Kind, Is.EqualTo("libvirt"));
            Assert.That(result.Interfaces, Is.EqualTo(new DiscoveredInterface[]
            {
                new("enp1s0", PointRole.Nic, "enp1s0", "sysfs", Detail: "port of br0"),
                new("vnet0", PointRole.Vif, "vnet0", "libvirt", "0d3f6a1e-1111-4c2b-9e77-5a6b7c8d9e01", "web01", 0, "52:54:00:12:34:56", "virtio br0"),
                new("vnet1", PointRole.Vif, "vnet1", "libvirt", "0d3f6a1e-1111-4c2b-9e77-5a6b7c8d9e01", "web01", 1, "52:54:00:12:34:57", "e1000 virbr0"),
                new("023471", PointRole.Vif, "023471", "libvirt", "7a6b5c4d-2222-4e3f-8a9b-0c1d2e3f4a02", "app-023471", 0, "52:54:00:ab:cd:ef", "virtio br0"),
            }));
            Assert.That(Relative(result, "libvirt-host"), Has.Length.EqualTo(2));
            Assert.That(Relative(result, "libvirt-host")[0], Is.EqualTo(
                "<root>/run/libvirt/qemu/notarget.xml: domain starting01 interface 0 (52:54:00:00:99:01) has no <target dev=…>; not captured"));
            Assert.That(Relative(result, "libvirt-host")[1], Does.StartWith("<root>/run/libvirt/qemu/truncated.xml: cannot read the domain XML ("));
        });
    }

    [Test]
    public void Current_Guest_OnlyItsNicsNotDockerVethTunOrBridges()
    {
        var result = Discover("guest");

        Assert.Multiple(() =>
        {
            Assert.That(result.Kind, Is.EqualTo("guest"));
            Assert.That(result.Warnings, Is.Empty);
            Assert.That(result.Interfaces, Is.EqualTo(new DiscoveredInterface[]
            {
                new("ens18", PointRole.Guest, "ens18", "guest"),
                new("ens19", PointRole.Guest, "ens19", "guest", Detail: "down"),
            }));
        });
    }

    [Test]
    public void Current_GuestIncludeVeth_AddsItAsGuest()
    {
        var result = Discover("guest", new DiscoveryOptions { Include = ["veth*"] });

        Assert.That(result.Interfaces.Select(i => (i.Name, i.Role, i.Source)),
            Is.EqualTo(new[] { ("ens18", PointRole.Guest, "guest"), ("ens19", PointRole.Guest, "guest"), ("veth1a2b3c4", PointRole.Guest, "guest") }));
    }

    [Test]
    public void Current_RootWithoutSys_WarnsAndFindsNothing()
    {
        var root = Directory.CreateTempSubdirectory("hc-disc-").FullName;
        try
        {
            var result = new HostDiscovery(root, new DiscoveryOptions()).Current();
            Assert.Multiple(() =>
            {
                Assert.That(result.Interfaces, Is.Empty);
                Assert.That(result.Warnings.Single(), Does.StartWith($"{root}/sys/class/net: cannot list network interfaces"));
            });
        }
        finally
        {
            Directory.Delete(root, true);
        }
    }
}
