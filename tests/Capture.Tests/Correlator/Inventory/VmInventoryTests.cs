using HopCapture.Correlator.Inventory;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator.Inventory;

public sealed class VmInventoryTests
{
    private const string GuestMac = "52:54:00:12:34:56";

    internal static InterfaceInfo Vif(string name, string vmId, string vmName, string vmMac, int nic = 0) => new()
    {
        Name = name, Role = Role.Vif, Point = name, Mac = "fe:54:00:12:34:56", Source = "proxmox",
        VmId = vmId, VmName = vmName, VmNic = nic, VmMac = vmMac,
    };

    internal static InterfaceInfo GuestNic(string name, string mac, params string[] addresses)
    {
        var info = new InterfaceInfo { Name = name, Role = Role.Guest, Point = name, Mac = mac, Source = "guest", VmNic = -1 };
        info.Addresses.AddRange(addresses);
        return info;
    }

    [Test]
    public void Update_VifAndGuestNicWithSameMacInOtherCase_GuestLinkedToVif()
    {
        var inventory = new VmInventory();

        inventory.Update("hv1", [Vif("tap100i0", "100", "web01", GuestMac), new InterfaceInfo { Name = "eno1", Role = Role.Nic, Mac = "aa:bb:cc:00:00:01" }]);
        inventory.Update("web01", [GuestNic("eth0", GuestMac.ToUpperInvariant(), "10.0.0.5")]);

        Assert.Multiple(() =>
        {
            Assert.That(inventory.AtPoint("hv1", "tap100i0")?.Text, Is.EqualTo("vm 100 web01"));
            Assert.That(inventory.AtPoint("hv1", "eno1"), Is.Null, "a NIC is no VM's");
            Assert.That(inventory.AtPoint("web01", "eth0")?.Text, Is.EqualTo("vm 100 web01"), "the guest's NIC is the VM's");
            Assert.That(inventory.GuestVm("web01")?.WithVif, Is.EqualTo("vm 100 web01 on hv1/tap100i0"));
            Assert.That(inventory.GuestVm("hv1"), Is.Null, "the hypervisor itself is no guest");
        });
    }

    [Test]
    public void OwnerOf_GuestAddresses_NameTheVmInAnySpelling()
    {
        var inventory = new VmInventory();
        inventory.Update("web01", [GuestNic("eth0", GuestMac, "10.0.0.5/24", "2001:db8:0:0::5")]);
        Assert.That(inventory.OwnerOf("10.0.0.5"), Is.Null, "no vif carries the MAC yet: no VM");

        inventory.Update("hv1", [Vif("tap100i0", "100", "web01", GuestMac)]);

        Assert.Multiple(() =>
        {
            Assert.That(inventory.OwnerOf("10.0.0.5")?.Text, Is.EqualTo("vm 100 web01"), "the prefix length is not part of the address");
            Assert.That(inventory.OwnerOf("2001:db8::5")?.Text, Is.EqualTo("vm 100 web01"), "IPv6 compared in canonical form");
            Assert.That(inventory.OwnerOf("10.0.0.6"), Is.Null);
            Assert.That(inventory.OwnerOf("not an address"), Is.Null);
        });
    }

    [Test]
    public void Update_ReconnectWithNewTables_RenameAndReaddressFollow()
    {
        var inventory = new VmInventory();
        inventory.Update("hv1", [Vif("tap100i0", "100", "web01", GuestMac)]);
        inventory.Update("web01", [GuestNic("eth0", GuestMac, "10.0.0.5")]);

        inventory.Update("hv1", [Vif("tap100i0", "100", "web01-renamed", GuestMac)]);
        inventory.Update("web01", [GuestNic("eth0", GuestMac, "10.0.0.9")]);

        Assert.Multiple(() =>
        {
            Assert.That(inventory.AtPoint("hv1", "tap100i0")?.Text, Is.EqualTo("vm 100 web01-renamed"));
            Assert.That(inventory.OwnerOf("10.0.0.9")?.Text, Is.EqualTo("vm 100 web01-renamed"));
            Assert.That(inventory.OwnerOf("10.0.0.5"), Is.Null, "an address the guest no longer reports is forgotten");
        });
    }

    [Test]
    public void Update_VmMigratedToAnotherHypervisor_LinkFollowsTheVif()
    {
        var inventory = new VmInventory();
        inventory.Update("hv1", [Vif("tap100i0", "100", "web01", GuestMac)]);
        inventory.Update("web01", [GuestNic("eth0", GuestMac, "10.0.0.5")]);

        inventory.Update("hv1", []);
        inventory.Update("hv2", [Vif("tap100i0", "100", "web01", GuestMac)]);

        Assert.Multiple(() =>
        {
            Assert.That(inventory.GuestVm("web01")?.WithVif, Is.EqualTo("vm 100 web01 on hv2/tap100i0"));
            Assert.That(inventory.AtPoint("hv1", "tap100i0"), Is.Null);
        });
    }

    [Test]
    public void Update_VifWithoutNameOrWithoutGuestMac_LabelsOnlyTheVif()
    {
        var inventory = new VmInventory();
        inventory.Update("hv1", [Vif("tap101i0", "101", "", ""), Vif("vnet3", "", "db02", "")]);

        Assert.Multiple(() =>
        {
            Assert.That(inventory.AtPoint("hv1", "tap101i0")?.Text, Is.EqualTo("vm 101"));
            Assert.That(inventory.AtPoint("hv1", "vnet3")?.Text, Is.EqualTo("vm db02"));
            Assert.That(inventory.GuestVm("hv1"), Is.Null);
        });
    }
}
