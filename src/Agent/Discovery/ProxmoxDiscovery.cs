using System.Globalization;
using System.Text.RegularExpressions;
using HopCapture.Engine.Model;

namespace HopCapture.Agent.Discovery;

/// <summary>
/// A Proxmox VE node: each VM NIC's tap <c>tap&lt;vmid&gt;i&lt;n&gt;</c> (and each container NIC's
/// <c>veth&lt;ctid&gt;i&lt;n&gt;</c>) is a vif, named from the guest's config under /etc/pve.
/// </summary>
/// <remarks>
/// The firewall bridge (<c>firewall=1</c>): the tap is a port of <c>fwbr&lt;vmid&gt;i&lt;n&gt;</c>, whose other
/// port <c>fwln&lt;vmid&gt;i&lt;n&gt;</c> is a veth to <c>fwpr&lt;vmid&gt;p&lt;n&gt;</c> in vmbr. The tap and the physical
/// NIC already bracket the whole host path, so by default none of the three is captured: fwbr is
/// a bridge (libpcap on it sees only its own stack's frames), fwln and fwpr are two ends of one
/// veth (one point, twice), and the firewall's cost is a few microseconds, under the ~20 µs one
/// host clock can tell apart (CAPTURE-NOTES.md) — while each captured interface costs two kernel
/// rings. <see cref="DiscoveryOptions.FirewallPoints"/> adds fwln, after the firewall rules, as a
/// bridge point for the case where the firewall is suspected: tap→fwln is then the firewall and
/// fwln→NIC the bridge and NIC.
/// </remarks>
internal static partial class ProxmoxDiscovery
{
    public static bool IsProxmox(string root, IReadOnlyList<SysLink> links) =>
        Path.Exists(Path.Combine(root, "etc/pve")) || links.Any(l => TapPattern().IsMatch(l.Name));

    public static IEnumerable<DiscoveredInterface> Vifs(string root, IReadOnlyList<SysLink> links, bool firewallPoints, List<string> warnings)
    {
        var configs = new Dictionary<string, ProxmoxConfig?>(StringComparer.Ordinal);
        var unreadable = new HashSet<string>(StringComparer.Ordinal);
        var names = links.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        var result = new List<DiscoveredInterface>();
        foreach (var link in links)
        {
            var match = TapPattern().Match(link.Name);
            if (!match.Success)
            {
                continue;
            }

            var container = match.Groups[1].Value == "veth";
            var id = match.Groups[2].Value;
            var nic = int.Parse(match.Groups[3].Value, NumberStyles.None, CultureInfo.InvariantCulture);
            var directory = container ? "lxc" : "qemu-server";
            var key = directory + "/" + id;
            if (!configs.TryGetValue(key, out var config))
            {
                config = configs[key] = Read(root, directory, id, unreadable, warnings);
            }

            var net = config?.Nets.GetValueOrDefault(nic);
            var details = new List<string>();
            if (config is null)
            {
                details.Add("no config");
            }
            else if (net is null)
            {
                details.Add($"no net{nic} in config");
            }
            else
            {
                details.Add(string.Join(' ', new[] { net.Model, net.Bridge, net.Tag is null ? null : "tag " + net.Tag, net.Firewall ? "firewall" : null }.OfType<string>()));
            }

            if (container)
            {
                details.Add("container");
            }

            var vmMac = net?.Mac;
            result.Add(new DiscoveredInterface(
                link.Name, PointRole.Vif, link.Name, "proxmox", id, config?.Name, nic, vmMac, string.Join(", ", details.Where(d => d.Length > 0))));

            var fwln = $"fwln{id}i{nic}";
            if (firewallPoints && names.Contains(fwln))
            {
                result.Add(new DiscoveredInterface(
                    fwln, PointRole.Bridge, fwln, "proxmox", id, config?.Name, nic, vmMac, $"after the firewall of fwbr{id}i{nic}"));
            }
        }

        return result;
    }

    private static ProxmoxConfig? Read(string root, string directory, string id, HashSet<string> unreadable, List<string> warnings)
    {
        var parent = Path.Combine(root, "etc/pve", directory);
        if (unreadable.Contains(parent))
        {
            return null;
        }

        // /etc/pve is pmxcfs: when it is not mounted (cluster file system down) the qemu-server
        // link dangles. One warning for the directory, not one per tap.
        if (!Directory.Exists(parent))
        {
            unreadable.Add(parent);
            warnings.Add($"{parent}: not a readable directory (is /etc/pve mounted?); names and MACs of the guests on this node are unknown");
            return null;
        }

        var path = Path.Combine(parent, id + ".conf");
        try
        {
            var config = ProxmoxConfig.Parse(File.ReadAllText(path));
            if (config.Error is { } error)
            {
                warnings.Add($"{path}: {error}");
            }

            return config;
        }
        catch (FileNotFoundException)
        {
            // A guest migrating in, or created and deleted between two polls.
            warnings.Add($"{path}: no such file (guest {id} has an interface but no config on this node)");
            return null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warnings.Add($"{path}: cannot read ({ex.Message})");
            return null;
        }
    }

    [GeneratedRegex("^(tap|veth)([0-9]+)i([0-9]+)$")]
    private static partial Regex TapPattern();
}
