using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator.Inventory;

/// <summary>
/// Report 003 through a real correlator, with Hellos that carry what a Proxmox hypervisor and the
/// guests' own agents report (issue 10): the answers name the VMs, filled at answer time.
/// </summary>
[TestFixture]
[CancelAfter(60_000)]
public sealed class VmLabelQueryTests
{
    private const string MacA = "52:54:00:aa:00:01";
    private const string MacB = "52:54:00:bb:00:02";

    private static Hello HelloWithVms(string node, string vmAName = "vm-a")
    {
        var hello = Report003.HelloFor(node);
        foreach (var iface in hello.Interfaces)
        {
            switch (node, iface.Name)
            {
                case ("nc1", "vif023471"):
                    (iface.VmId, iface.VmName, iface.VmNic, iface.VmMac, iface.Source) = ("100", vmAName, 0, MacA, "proxmox");
                    break;
                case ("nc2", "vif061606"):
                    (iface.VmId, iface.VmName, iface.VmNic, iface.VmMac, iface.Source) = ("101", "vm-b", 0, MacB, "proxmox");
                    break;
                case ("vm_a", _):
                    iface.Mac = MacA.ToUpperInvariant();
                    iface.Addresses.Add(Report003.Src);
                    break;
                case ("vm_b", _):
                    iface.Mac = MacB;
                    iface.Addresses.Add(Report003.Dst + "/24");
                    break;
            }
        }

        return hello;
    }

    /// <summary>Report 003's agents, announcing their VMs, send its probe; returns the listing once it is stored.</summary>
    private static async Task<ListProbesResponse> StoreReport003WithVmsAsync(TestCorrelator correlator)
    {
        foreach (var (node, _) in Report003.Nodes)
        {
            await using var agent = await TestAgent.ConnectAsync(correlator, HelloWithVms(node));
            await agent.SendBatchAsync(1, Report003.ObservationsFor(node));
        }

        return await TestCorrelator.EventuallyAsync(
            ct => correlator.Query.ListProbesAsync(new ListProbesRequest(), cancellationToken: ct).ResponseAsync,
            r => r.Probes.Count == 1, "the probe stored");
    }

    [Test]
    public async Task Query_AgentsReportVmsAndGuests_ProbesPathsAndAgentsCarryVmLabels()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var listed = await StoreReport003WithVmsAsync(correlator);
        var probe = await correlator.Query.GetProbeAsync(new GetProbeRequest { Id = listed.Probes[0].Id }, deadline: Deadline());
        var paths = await correlator.Query.ListPathsAsync(new ListPathsRequest(), deadline: Deadline());
        var agents = await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), deadline: Deadline());

        var vms = probe.Points.Select(p => $"{p.Node}/{p.Point}={p.Vm}").ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(vms, Is.EqualTo(new[]
            {
                "vm_a/eth0=vm 100 vm-a", "nc1/vif023471=vm 100 vm-a", "nc1/eth0=", "nc2/eth0=", "nc2/vif061606=vm 101 vm-b", "vm_b/eth0=vm 101 vm-b",
            }));
            Assert.That(listed.Probes[0].Points.Select(p => p.Vm), Is.EqualTo(probe.Points.Select(p => p.Vm)), "probes are labelled like explain");
            Assert.That(paths.Paths[0].SrcVm, Is.EqualTo("vm 100 vm-a"));
            Assert.That(paths.Paths[0].DstVm, Is.EqualTo("vm 101 vm-b"));
            Assert.That(agents.Agents.Single(a => a.Node == "vm_a").Vm, Is.EqualTo("vm 100 vm-a on nc1/vif023471"));
            Assert.That(agents.Agents.Single(a => a.Node == "vm_b").Vm, Is.EqualTo("vm 101 vm-b on nc2/vif061606"));
            Assert.That(agents.Agents.Single(a => a.Node == "nc1").Vm, Is.Empty);
        });

        // --json prints these messages as they are: the new fields are in it.
        Assert.Multiple(() =>
        {
            Assert.That(JsonOutput.Format(paths), Does.Contain("\"srcVm\": \"vm 100 vm-a\"").And.Contain("\"dstVm\": \"vm 101 vm-b\""));
            Assert.That(JsonOutput.Format(probe), Does.Contain("\"vm\": \"vm 100 vm-a\""));
            Assert.That(JsonOutput.Format(agents), Does.Contain("\"vm\": \"vm 100 vm-a on nc1/vif023471\""));
        });
    }

    [Test]
    public async Task GetProbe_VmRenamedAfterTheProbeWasStored_ShowsTheCurrentName()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var listed = await StoreReport003WithVmsAsync(correlator);

        // The hypervisor's agent reconnects after the VM was renamed.
        await using (await TestAgent.ConnectAsync(correlator, HelloWithVms("nc1", vmAName: "vm-a-renamed")))
        {
        }

        var probe = await correlator.Query.GetProbeAsync(new GetProbeRequest { Id = listed.Probes[0].Id }, deadline: Deadline());
        Assert.That(probe.Points[1].Vm, Is.EqualTo("vm 100 vm-a-renamed"), "labels are put on at answer time, not stored");
    }

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(10);
}
