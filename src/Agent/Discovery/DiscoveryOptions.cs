namespace HopCapture.Agent.Discovery;

/// <summary>
/// The "Agent:Discovery" section: what <c>Agent:Interfaces: auto</c> adds to or removes from what
/// it finds by itself. Globs use <c>*</c> and <c>?</c> and match the kernel interface name.
/// </summary>
public sealed class DiscoveryOptions
{
    public const string Section = "Agent:Discovery";

    /// <summary>
    /// Interfaces to capture although discovery skips them (container veths, bridges, tun devices):
    /// <c>GLOB</c> or <c>GLOB=ROLE</c>; the role defaults to guest on a guest and nic on a hypervisor.
    /// </summary>
    public List<string> Include { get; set; } = [];

    /// <summary>Interfaces never to capture, applied last (also to VM taps).</summary>
    public List<string> Exclude { get; set; } = [];

    /// <summary>
    /// Also capture each Proxmox firewall bridge's link into vmbr (<c>fwln&lt;vmid&gt;i&lt;n&gt;</c>, role
    /// bridge), which splits the VM's host path into firewall and bridge/NIC parts. Off by default:
    /// see <see cref="ProxmoxDiscovery"/>.
    /// </summary>
    public bool FirewallPoints { get; set; }
}
