using System.IO.Enumeration;
using HopCapture.Engine.Model;

namespace HopCapture.Agent.Discovery;

/// <summary>
/// <c>Agent:Interfaces: auto</c>: finds what to capture on this node from the files under a root
/// (<c>/</c> in production, a fixture tree in tests): a Proxmox node (<c>/etc/pve</c>), a libvirt host
/// (<c>/run/libvirt/qemu/*.xml</c>), or else a guest. Never throws for what it cannot read: each
/// such file becomes one warning line naming it, and discovery goes on with the rest.
/// </summary>
/// <remarks>
/// What a hypervisor captures, and why (README "Interfaces found by themselves"):
/// <list type="bullet">
/// <item>every VM NIC's tap (role vif): the first point on the host;</item>
/// <item>every physical NIC (role nic), and for a bond its slaves with the bond's name as the
/// point. The bond master is not captured: its slaves already see every frame, so the master
/// would observe each echo a second time at the same point;</item>
/// <item>not the Linux bridges (vmbr*, virbr*): libpcap on a bridge device sees only frames
/// to or from the host's own stack, not the frames it forwards between ports, so a bridge is
/// no point on a VM's path;</item>
/// <item>not VLAN sub-interfaces (eno1.100, vmbr0.20): their parent sees the same frames
/// tagged, and the capture filter matches tagged echo, so the sub-interface would repeat them.</item>
/// </list>
/// </remarks>
public sealed class HostDiscovery : IInterfaceSource
{
    private readonly string _root;
    private readonly DiscoveryOptions _options;

    public HostDiscovery(string root, DiscoveryOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        ArgumentNullException.ThrowIfNull(options);
        _root = Path.GetFullPath(root);
        _options = options;
    }

    public DiscoveryResult Current()
    {
        var warnings = new List<string>();
        try
        {
            return Discover(warnings);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.SecurityException)
        {
            // The per-file readers catch their own failures; this is the net under them.
            warnings.Add($"{_root}: discovery failed ({ex.Message})");
            return new DiscoveryResult("guest", [], warnings);
        }
    }

    private DiscoveryResult Discover(List<string> warnings)
    {
        var links = SysNet.Links(_root, warnings);
        var vlans = SysNet.Vlans(_root, links);
        var found = new List<DiscoveredInterface>();
        string kind;
        if (ProxmoxDiscovery.IsProxmox(_root, links))
        {
            kind = "proxmox";
            found.AddRange(ProxmoxDiscovery.Vifs(_root, links, _options.FirewallPoints, warnings));
            found.AddRange(HostNics(links, vlans));
        }
        else if (LibvirtDiscovery.IsLibvirt(_root))
        {
            kind = "libvirt";
            found.AddRange(LibvirtDiscovery.Vifs(_root, links, warnings));
            found.AddRange(HostNics(links, vlans));
        }
        else
        {
            kind = "guest";
            found.AddRange(GuestNics(links, vlans));
        }

        AddIncluded(found, links, kind == "guest" ? PointRole.Guest : PointRole.Nic, kind == "guest" ? "guest" : "sysfs", warnings);
        found.RemoveAll(i => Matches(_options.Exclude, i.Name));
        return new DiscoveryResult(kind, [.. Order(found)], warnings);
    }

    /// <summary>A hypervisor's physical NICs: role nic, a bond's slaves under the bond's name.</summary>
    private static IEnumerable<DiscoveredInterface> HostNics(IReadOnlyList<SysLink> links, Dictionary<string, (string Parent, int Vid)> vlans) =>
        Nics(links, vlans, PointRole.Nic, "sysfs");

    /// <summary>
    /// A guest's NICs are its (virtio or passed-through) devices, plus bond slaves as on a
    /// hypervisor. Container veths, docker/virbr bridges and tun devices have no device link and
    /// are left out unless Include names them: the guest's own echo leaves through its NIC.
    /// </summary>
    private static IEnumerable<DiscoveredInterface> GuestNics(IReadOnlyList<SysLink> links, Dictionary<string, (string Parent, int Vid)> vlans) =>
        Nics(links, vlans, PointRole.Guest, "guest");

    private static IEnumerable<DiscoveredInterface> Nics(IReadOnlyList<SysLink> links, Dictionary<string, (string Parent, int Vid)> vlans, PointRole role, string source)
    {
        var byName = links.ToDictionary(l => l.Name, StringComparer.Ordinal);
        foreach (var link in links)
        {
            if (!link.Physical || SysNet.IsLoopback(link) || vlans.ContainsKey(link.Name))
            {
                continue;
            }

            var bond = link.Master is { } master && byName.TryGetValue(master, out var m) && m.Bond ? m : null;
            bond ??= links.FirstOrDefault(l => l.Bond && l.Slaves.Contains(link.Name, StringComparer.Ordinal));
            var details = new List<string>();
            if (bond is not null)
            {
                details.Add($"slave of {bond.Name}");
            }
            else if (link.Master is { } bridge)
            {
                details.Add($"port of {bridge}");
            }

            var tagged = vlans.Where(v => v.Value.Parent == link.Name || (bond is not null && v.Value.Parent == bond.Name))
                .Select(v => v.Value.Vid).Order().ToList();
            if (tagged.Count > 0)
            {
                details.Add("vlans " + string.Join(' ', tagged));
            }

            if (link.OperState is { } state && state != "up")
            {
                details.Add(state);
            }

            yield return new DiscoveredInterface(
                link.Name, role, bond?.Name ?? link.Name, source, VmMac: null,
                Detail: details.Count == 0 ? null : string.Join(", ", details));
        }
    }

    private void AddIncluded(List<DiscoveredInterface> found, IReadOnlyList<SysLink> links, PointRole defaultRole, string source, List<string> warnings)
    {
        foreach (var entry in _options.Include)
        {
            var eq = entry.IndexOf('=', StringComparison.Ordinal);
            var glob = eq < 0 ? entry : entry[..eq];
            var role = eq < 0 ? defaultRole : Configuration.Roles.Parse(entry[(eq + 1)..]);
            if (role == PointRole.Unknown)
            {
                warnings.Add($"{DiscoveryOptions.Section}:Include: '{entry}' has a role that is not one of {Configuration.Roles.Allowed}");
                continue;
            }

            foreach (var link in links)
            {
                if (!SysNet.IsLoopback(link) && FileSystemName.MatchesSimpleExpression(glob, link.Name, ignoreCase: false)
                    && !found.Exists(i => i.Name == link.Name))
                {
                    found.Add(new DiscoveredInterface(link.Name, role, link.Name, source, Detail: "included by " + DiscoveryOptions.Section + ":Include"));
                }
            }
        }
    }

    private static bool Matches(List<string> globs, string name) =>
        globs.Exists(g => FileSystemName.MatchesSimpleExpression(g, name, ignoreCase: false));

    /// <summary>NICs first, then VMs by id and NIC index, so the table reads like the node.</summary>
    private static IEnumerable<DiscoveredInterface> Order(List<DiscoveredInterface> found) =>
        found.OrderBy(i => i.VmId is null ? 0 : 1)
            .ThenBy(i => i.VmId is null ? 0 : long.TryParse(i.VmId, out var id) ? id : long.MaxValue)
            .ThenBy(i => i.VmId, StringComparer.Ordinal)
            .ThenBy(i => i.VmNic)
            .ThenBy(i => i.Role)
            .ThenBy(i => i.Name, StringComparer.Ordinal);
}
