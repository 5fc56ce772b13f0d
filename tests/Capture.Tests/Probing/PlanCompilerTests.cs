using HopCapture.Correlator.Probing;
using HopCapture.Protos;

namespace HopCapture.Tests.Probing;

public sealed class PlanCompilerTests
{
    private static readonly ProbingOptions Options = new()
    {
        Groups = new(StringComparer.Ordinal) { ["vms"] = ["vm*"], ["hosts"] = ["hv1", "hv2"] },
        Plans =
        [
            new ProbePlanOptions { Name = "vm-mesh", From = ["@vms"], To = ["@vms"], Interval = TimeSpan.FromSeconds(1) },
            new ProbePlanOptions { Name = "storage", From = ["@hosts"], To = ["10.77.0.3"], Interval = TimeSpan.FromMilliseconds(200), Size = 100 },
            new ProbePlanOptions { Name = "explicit", From = ["vm1"], To = ["hv2", "192.0.2.9"] },
        ],
    };

    [Test]
    public void Compile_MeshGroupAndExplicit_EachNodeGetsItsTargets()
    {
        var agents = new[] { Agent("vm1", "10.77.0.11"), Agent("vm2", "10.77.0.12"), Agent("hv1", "10.77.0.1", Role.Nic), Agent("hv2", "10.77.0.2", Role.Nic) };

        var plans = PlanCompiler.Compile(Options, agents, ["vm1", "vm2", "hv1", "hv2"]);

        Assert.That(Targets(plans["vm1"]), Is.EquivalentTo(new[] { "explicit:10.77.0.2", "explicit:192.0.2.9", "vm-mesh:10.77.0.12" }));
        Assert.That(Targets(plans["vm2"]), Is.EquivalentTo(new[] { "vm-mesh:10.77.0.11" }), "a mesh never probes itself");
        Assert.That(Targets(plans["hv1"]), Is.EquivalentTo(new[] { "storage:10.77.0.3" }));
        Assert.That(plans["hv1"].Targets[0].IntervalNs, Is.EqualTo(200_000_000));
        Assert.That(plans["hv1"].Targets[0].Size, Is.EqualTo(100));
    }

    [Test]
    public void Compile_NewNodeJoinsTheMesh_OtherPlansChangeWithoutConfigEdits()
    {
        var before = PlanCompiler.Compile(Options, [Agent("vm1", "10.77.0.11"), Agent("vm2", "10.77.0.12")], ["vm1", "vm2"]);

        var after = PlanCompiler.Compile(Options, [Agent("vm1", "10.77.0.11"), Agent("vm2", "10.77.0.12"), Agent("vm3", "10.77.0.13")], ["vm1", "vm2", "vm3"]);

        Assert.That(Targets(after["vm2"]), Is.EquivalentTo(new[] { "vm-mesh:10.77.0.11", "vm-mesh:10.77.0.13" }));
        Assert.That(Targets(after["vm3"]), Is.EquivalentTo(new[] { "vm-mesh:10.77.0.11", "vm-mesh:10.77.0.12" }));
        Assert.That(after["vm2"].PlanId, Is.Not.EqualTo(before["vm2"].PlanId), "the changed plan gets a new id, so it is pushed");
        Assert.That(PlanCompiler.Compile(Options, [Agent("vm1", "10.77.0.11"), Agent("vm2", "10.77.0.12")], ["vm1", "vm2"])["vm2"].PlanId,
            Is.EqualTo(before["vm2"].PlanId), "an unchanged plan keeps its id, so it is not re-sent");
    }

    [Test]
    public void Resolve_GuestBeforeNicAndNoLoopback()
    {
        var agent = Agent("vm1", "127.0.0.1");
        agent.Interfaces.Add(new InterfaceInfo { Name = "eno1", Role = Role.Nic, Addresses = { "10.0.0.9" } });
        agent.Interfaces.Add(new InterfaceInfo { Name = "eth1", Role = Role.Guest, Addresses = { "fe80::1", "10.77.0.11" } });

        Assert.That(PlanCompiler.Resolve("vm1", [agent]), Is.EqualTo("10.77.0.11"));
        Assert.That(PlanCompiler.Resolve("nosuch", [agent]), Is.Null);
    }

    [Test]
    public void Validate_UnknownGroupAndAddressInFrom_NamesTheKeys()
    {
        var options = new ProbingOptions { Plans = [new ProbePlanOptions { Name = "p", From = ["10.0.0.1"], To = ["@nosuch"], Interval = TimeSpan.FromMilliseconds(1) }] };

        var result = new ProbingOptionsValidator().Validate(null, options);

        Assert.That(result.Failures, Has.Some.StartsWith("Correlator:Probing:Plans:0:From: '10.0.0.1' is an address"));
        Assert.That(result.Failures, Has.Some.Contains("group 'nosuch' is not defined"));
        Assert.That(result.Failures, Has.Some.StartsWith("Correlator:Probing:Plans:0:Interval:"));
    }

    private static string[] Targets(ProbePlan plan) => [.. plan.Targets.Select(t => $"{t.Plan}:{t.Address}")];

    private static AgentInfo Agent(string node, string address, Role role = Role.Guest) => new()
    {
        Node = node,
        Connected = true,
        Interfaces = { new InterfaceInfo { Name = "eth0", Role = role, Addresses = { address } } },
    };
}
