using Grpc.Core;
using HopCapture.Protos;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Correlator;

/// <summary>An agent's interface table changing mid-stream (issue 10: a VM's tap appears or vanishes).</summary>
public class InterfacesChangedTests
{
    private static readonly TimeSpan CallTimeout = TestAgent.CallTimeout;

    private static InterfaceInfo Tap300(string state) => new()
    {
        Name = "tap300i0", Role = Role.Vif, Point = "tap300i0", Source = "config", VmId = "300", VmName = "vm3", VmNic = 0, State = state,
    };

    [Test]
    public async Task Connect_InterfacesChangedMidStream_AcceptsBatchesWithTheNewIndexAndListsIt()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var hello = Report003.HelloFor("nc1");
        await using var agent = await TestAgent.ConnectAsync(correlator, hello);
        var newIndex = (uint)hello.Interfaces.Count;

        var before = await agent.SendBatchAsync(1, [Report003.Request(newIndex, Report003.At("08.850975"), Direction.In)]);
        await agent.SendInterfacesAsync([.. hello.Interfaces, Tap300("capturing")]);
        var after = await agent.SendBatchAsync(2, [Report003.Request(newIndex, Report003.At("08.850975"), Direction.In)]);
        await agent.SendInterfacesAsync([.. hello.Interfaces, Tap300("gone")]);
        var agents = await TestCorrelator.EventuallyAsync(
            async ct => await correlator.Query.ListAgentsAsync(new ListAgentsRequest(), cancellationToken: ct),
            r => r.Agents.Single().Interfaces.Count == 3 && r.Agents.Single().Interfaces[2].State == "gone",
            "the listing to show the changed table");

        var listed = agents.Agents.Single().Interfaces[2];
        Assert.Multiple(() =>
        {
            Assert.That(before.Rejected, Is.EqualTo(1U), "an index the table does not have yet");
            Assert.That(after.Accepted, Is.EqualTo(1U), after.RejectReason);
            Assert.That((listed.Name, listed.VmId, listed.VmName, listed.Source), Is.EqualTo(("tap300i0", "300", "vm3", "config")));
        });
    }

    [Test]
    public async Task Connect_InterfacesChangedMidStream_VmLabelsFollowAtOnce()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var inventory = correlator.Services.GetRequiredService<HopCapture.Correlator.Inventory.VmInventory>();
        var hello = Report003.HelloFor("nc1");
        await using var agent = await TestAgent.ConnectAsync(correlator, hello);
        Assert.That(inventory.AtPoint("nc1", "tap300i0"), Is.Null, "no VM 300 on nc1 yet");

        // VM 300 started on nc1 (or migrated to it): its tap joins the table mid-stream.
        await agent.SendInterfacesAsync([.. hello.Interfaces, Tap300("capturing")]);
        var label = await TestCorrelator.EventuallyAsync(
            _ => Task.FromResult(inventory.AtPoint("nc1", "tap300i0")), l => l is not null, "the VM label of the new tap");

        Assert.That(label!.Text, Is.EqualTo("vm 300 vm3"));
    }

    [Test]
    public async Task Connect_InterfacesChangedRenamesAnIndex_FailsWithInvalidArgument()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var hello = Report003.HelloFor("nc1");
        await using var agent = await TestAgent.ConnectAsync(correlator, hello);
        var renamed = hello.Interfaces.Select(i => i.Clone()).ToList();
        renamed[0].Name = "tap300i0";

        await agent.SendInterfacesAsync(renamed);
        var error = await ExpectRpcErrorAsync(() => agent.SendBatchAsync(1, []));

        Assert.Multiple(() =>
        {
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(error.Status.Detail, Is.EqualTo(
                "InterfacesChanged from node 'nc1' renames interface 0 from 'vif023471' to 'tap300i0': an index keeps its name for the agent's lifetime"));
        });
    }

    [Test]
    public async Task Connect_InterfacesChangedShrinks_FailsWithInvalidArgument()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var hello = Report003.HelloFor("nc1");
        await using var agent = await TestAgent.ConnectAsync(correlator, hello);

        await agent.SendInterfacesAsync([hello.Interfaces[0]]);
        var error = await ExpectRpcErrorAsync(() => agent.SendBatchAsync(1, []));

        Assert.Multiple(() =>
        {
            Assert.That(error.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
            Assert.That(error.Status.Detail, Does.StartWith("InterfacesChanged from node 'nc1' lists 1 interfaces, fewer than the 2 it had"));
        });
    }

    private static async Task<RpcException> ExpectRpcErrorAsync(Func<Task> call)
    {
        try
        {
            await call().WaitAsync(CallTimeout);
        }
        catch (RpcException ex)
        {
            return ex;
        }

        Assert.Fail("the call should have failed with an RpcException");
        throw new InvalidOperationException("unreachable");
    }
}
