using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Tests.Cli;

/// <summary>The views with the VM labels the correlator adds (issue 10); without labels they stay as before.</summary>
public sealed class VmLabelViewsTests
{
    private static ProbeRecord LabelledProbe()
    {
        var probe = Seed003.Probe();
        probe.Points[0].Vm = "vm 100 web01";
        probe.Points[1].Vm = "vm 100 web01";
        probe.Points[4].Vm = "vm 101 db01";
        probe.Points[5].Vm = "vm 101 db01";
        return probe;
    }

    [Test]
    public void ExplainView_PointsWithVms_IfaceAndPointNamesCarryTheVm()
    {
        var lines = Rendered.Lines(ExplainView.Build(LabelledProbe()));
        var rows = lines.Select(Rendered.Cells).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(lines[0], Does.StartWith("probe 42: 192.168.47.111 (vm 100 web01) → 192.168.47.127 (vm 101 db01) id 21616 seq 110"));
            Assert.That(rows.Single(r => r[0] == "2")[1..3], Is.EqualTo(new[] { "hv-a", "023471 (vm 100 web01)" }));
            Assert.That(rows.Single(r => r[0] == "3")[1..3], Is.EqualTo(new[] { "hv-a", "eth0" }), "a NIC has no VM label");
            Assert.That(lines.Select(l => l.Trim()), Has.Some.StartsWith("hv-a/023471 (vm 100 web01) → hv-a/eth0"), "segments name the points with their VMs");
        });
    }

    [Test]
    public void ProbesAndWatch_PointsWithVms_AddressesCarryTheVm()
    {
        var response = new ListProbesResponse { Matched = 1 };
        response.Probes.Add(LabelledProbe());

        var rows = Rendered.Lines(ProbesView.Build(response, new DateOnly(2017, 4, 26))).Select(Rendered.Cells).ToArray();

        Assert.That(rows[2][2], Is.EqualTo("192.168.47.111 (vm 100 web01) → 192.168.47.127 (vm 101 db01)"));
        Assert.That(WatchLine.Format(LabelledProbe()), Does.StartWith("19:53:08.851499 192.168.47.111 (vm 100 web01) → 192.168.47.127 (vm 101 db01) seq 110"));
    }

    [Test]
    public void ProbesView_ProbeLostInsideItsSourceVm_DestinationGetsNoLabel()
    {
        var probe = Seed003.Probe();
        while (probe.Points.Count > 2)
        {
            probe.Points.RemoveAt(probe.Points.Count - 1);
        }

        probe.Points[0].Vm = probe.Points[1].Vm = "vm 100 web01";

        Assert.That(ProbesView.PathText(probe), Is.EqualTo("192.168.47.111 (vm 100 web01) → 192.168.47.127"));
    }

    [Test]
    public void PathsView_PathWithVms_AddressesCarryTheVm()
    {
        var response = new ListPathsResponse();
        response.Paths.Add(new PathSummary { Src = "10.0.0.5", Dst = "10.0.0.9", Probes = 3, SrcVm = "vm 100 web01" });

        var rows = Rendered.Lines(PathsView.Build(response)).Select(Rendered.Cells).ToArray();

        Assert.That(rows[2][0], Is.EqualTo("10.0.0.5 (vm 100 web01) → 10.0.0.9"));
    }

    [Test]
    public void AgentsView_GuestAgentAndHypervisor_VmColumnAndVmBehindTheVif()
    {
        var now = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var response = new ListAgentsResponse();
        var hv = new AgentInfo { Node = "hv1", Connected = true, AgentVersion = "1" };
        hv.Interfaces.Add(new InterfaceInfo { Name = "tap100i0", Role = Role.Vif, Point = "tap100i0", VmId = "100", VmName = "web01" });
        var guest = new AgentInfo { Node = "web01", Connected = true, AgentVersion = "1", Vm = "vm 100 web01 on hv1/tap100i0" };
        guest.Interfaces.Add(new InterfaceInfo { Name = "eth0", Role = Role.Guest });
        response.Agents.Add(hv);
        response.Agents.Add(guest);

        var rows = Rendered.Lines(AgentsView.Build(response, now)).Select(Rendered.Cells).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(rows[0][..3], Is.EqualTo(new[] { "node", "vm", "connected" }));
            Assert.That(rows[2][..5], Is.EqualTo(new[] { "hv1", "—", "yes", "1", "tap100i0=vif (vm 100 web01)" }));
            Assert.That(rows[3][..5], Is.EqualTo(new[] { "web01", "vm 100 web01 on hv1/tap100i0", "yes", "1", "eth0=guest" }));
        });
    }
}
