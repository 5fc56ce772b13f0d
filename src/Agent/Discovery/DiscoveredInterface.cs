using HopCapture.Engine.Model;

namespace HopCapture.Agent.Discovery;

/// <summary>
/// One interface the agent should capture, as configuration or discovery names it: the kernel
/// name, its role and point, and — for a VM's vif — the VM it belongs to.
/// </summary>
/// <param name="Source">"config", "proxmox", "libvirt", "guest" or "sysfs".</param>
/// <param name="VmId">Proxmox VMID or libvirt domain UUID; null when not a VM's NIC.</param>
/// <param name="VmNic">The VM's NIC index (Proxmox netN); -1 when not a VM's NIC.</param>
/// <param name="VmMac">The MAC the guest sees on that NIC (links a guest's NIC to its vif).</param>
/// <param name="Replay">A capture file that feeds the interface instead of live capture (config only).</param>
public sealed record DiscoveredInterface(
    string Name,
    PointRole Role,
    string Point,
    string Source,
    string? VmId = null,
    string? VmName = null,
    int VmNic = -1,
    string? VmMac = null,
    string? Detail = null,
    string? Replay = null);

/// <summary>What discovery found on this node, and what it could not read (one line each, naming the file).</summary>
/// <param name="Kind">"proxmox", "libvirt", "guest", or "config" for a static list.</param>
public sealed record DiscoveryResult(string Kind, IReadOnlyList<DiscoveredInterface> Interfaces, IReadOnlyList<string> Warnings);

/// <summary>
/// The interfaces the agent should capture right now. The static configuration is one source;
/// discovery (<c>Agent:Interfaces: auto</c>) another. Called at start and then about once a
/// second, so it must be cheap and must not throw for a file it cannot read (a warning instead).
/// </summary>
public interface IInterfaceSource
{
    DiscoveryResult Current();
}
