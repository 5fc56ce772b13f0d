using HopCapture.Protos;

namespace HopCapture.Correlator.Inventory;

/// <summary>
/// Puts VM labels into query answers at answer time, so stored probes show the names the
/// inventory knows now (a renamed VM, a guest that connected later) and the stored blobs stay as
/// the engine wrote them. Callers pass their own copies: records shared with other readers
/// (the stored-probe bus) are cloned first.
/// </summary>
public static class VmLabels
{
    public static ProbeRecord Decorate(this VmInventory inventory, ProbeRecord probe)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(probe);
        foreach (var point in probe.Points)
        {
            point.Vm = inventory.AtPoint(point.Node, point.Point)?.Text
                ?? inventory.AtPoint(point.Node, point.RequestIface)?.Text
                ?? inventory.AtPoint(point.Node, point.ReplyIface)?.Text
                ?? "";
        }

        return probe;
    }

    public static PathSummary Decorate(this VmInventory inventory, PathSummary path)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(path);
        path.SrcVm = inventory.OwnerOf(path.Src)?.Text ?? "";
        path.DstVm = inventory.OwnerOf(path.Dst)?.Text ?? "";
        return path;
    }

    public static AgentInfo Decorate(this VmInventory inventory, AgentInfo agent)
    {
        ArgumentNullException.ThrowIfNull(inventory);
        ArgumentNullException.ThrowIfNull(agent);
        agent.Vm = inventory.GuestVm(agent.Node)?.WithVif ?? "";
        return agent;
    }
}
