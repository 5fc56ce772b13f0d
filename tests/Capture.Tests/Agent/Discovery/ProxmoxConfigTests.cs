using HopCapture.Agent.Discovery;

namespace HopCapture.Tests.Agent.Discovery;

public class ProxmoxConfigTests
{
    [Test]
    public void Parse_NetForms_ModelMacBridgeFirewallTag()
    {
        var config = ProxmoxConfig.Parse(
            "#desc: not a key\nname: web01\n"
            + "net0: virtio=BC:24:11:AA:00:01,bridge=vmbr0,firewall=1,tag=20\n"
            + "net1: model=e1000e,macaddr=bc:24:11:aa:00:02,bridge=vmbr1,link_down=1\n"
            + "net2: rtl8139=BC:24:11:AA:00:03,bridge=vmbr0,firewall=0\n"
            + "net3: name=eth0,bridge=vmbr0,hwaddr=BC:24:11:AA:00:04,type=veth\n");

        Assert.Multiple(() =>
        {
            Assert.That(config.Error, Is.Null);
            Assert.That(config.Name, Is.EqualTo("web01"));
            Assert.That(config.Nets[0], Is.EqualTo(new ProxmoxNet(0, "virtio", "bc:24:11:aa:00:01", "vmbr0", true, "20")));
            Assert.That(config.Nets[1], Is.EqualTo(new ProxmoxNet(1, "e1000e", "bc:24:11:aa:00:02", "vmbr1", false, null)));
            Assert.That(config.Nets[2], Is.EqualTo(new ProxmoxNet(2, "rtl8139", "bc:24:11:aa:00:03", "vmbr0", false, null)));
            Assert.That(config.Nets[3], Is.EqualTo(new ProxmoxNet(3, null, "bc:24:11:aa:00:04", "vmbr0", false, null)));
        });
    }

    [Test]
    public void Parse_SnapshotAndPendingSections_Ignored()
    {
        var config = ProxmoxConfig.Parse(
            "name: now\nnet0: virtio=BC:24:11:AA:00:01,bridge=vmbr0\n\n[PENDING]\nnet1: virtio=BC:24:11:AA:00:09,bridge=vmbr0\n"
            + "[snap1]\nname: then\nnet0: virtio=BC:24:11:FF:FF:FF,bridge=vmbr0\n");

        Assert.Multiple(() =>
        {
            Assert.That(config.Name, Is.EqualTo("now"));
            Assert.That(config.Nets.Keys, Is.EqualTo(new[] { 0 }));
            Assert.That(config.Nets[0].Mac, Is.EqualTo("bc:24:11:aa:00:01"));
        });
    }

    [Test]
    public void Parse_Garbage_FirstBadLineReportedRestKept()
    {
        var config = ProxmoxConfig.Parse("name: x\n: no key\nnet0: virtio=BC:24:11:AA:00:01\nalso bad\n");

        Assert.Multiple(() =>
        {
            Assert.That(config.Error, Is.EqualTo("line 2: ': no key' is not 'key: value'"));
            Assert.That(config.Nets[0].Mac, Is.EqualTo("bc:24:11:aa:00:01"));
        });
    }
}
