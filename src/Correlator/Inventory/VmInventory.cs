using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Correlator.Inventory;

/// <summary>A VM as a hypervisor's agent reports it behind one of its vifs.</summary>
public sealed record VmLabel(string Id, string Name, int Nic, string HypervisorNode, string Vif)
{
    /// <summary>"vm 100 web01": what the query API puts into ProbePoint.vm and next to addresses.</summary>
    public string Text => Name.Length == 0 ? $"vm {Id}" : Id.Length == 0 ? $"vm {Name}" : $"vm {Id} {Name}";

    /// <summary>"vm 100 web01 on hv1/tap100i0": for a guest's own agent.</summary>
    public string WithVif => $"{Text} on {HypervisorNode}/{Vif}";
}

/// <summary>
/// Which VM is behind what, from the interface tables the agents report (issue 10): a
/// hypervisor's vif carries the VM (id, name, NIC) and the MAC the guest sees; a guest agent
/// reports its NIC's own MAC and addresses, so the guest NIC is linked to its vif by MAC
/// equality and its addresses name the VM. Rebuilt on every <see cref="Update"/> (tables are
/// small: a node's interfaces); lookups read an immutable snapshot without locking.
/// </summary>
public sealed class VmInventory
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, InterfaceInfo[]> _tables = new(StringComparer.Ordinal);
    private Snapshot _snapshot = Snapshot.Empty;

    /// <summary>Replaces <paramref name="node"/>'s interface table (a Hello, a reconnect, or a mid-stream InterfacesChanged).</summary>
    public void Update(string node, IReadOnlyList<InterfaceInfo> interfaces)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(interfaces);
        lock (_gate)
        {
            _tables[node] = [.. interfaces.Select(i => i.Clone())];
            _snapshot = Snapshot.Build(_tables);
        }
    }

    /// <summary>The VM at a capture point: the VM behind a vif, or the VM a guest node's NIC belongs to.</summary>
    public VmLabel? AtPoint(string node, string point)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        return snapshot.Points.GetValueOrDefault((node, point));
    }

    /// <summary>The VM that owns <paramref name="address"/> (a guest agent reported it on a NIC linked to a vif).</summary>
    public VmLabel? OwnerOf(string address)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        return Canonical(address) is { } key ? snapshot.Addresses.GetValueOrDefault(key) : null;
    }

    /// <summary>The VM a guest node is, through its first NIC linked to a vif.</summary>
    public VmLabel? GuestVm(string node)
    {
        var snapshot = Volatile.Read(ref _snapshot);
        return snapshot.Guests.GetValueOrDefault(node);
    }

    private static string? Canonical(string address)
    {
        var text = address.Trim();
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            text = text[..slash];
        }

        return IpAddress128.TryParse(text, out var value) ? IpAddress128.Format(value) : null;
    }

    private static string NormalMac(string mac) => mac.Trim().Replace('-', ':').ToLowerInvariant();

    private sealed record Snapshot(
        Dictionary<(string Node, string Point), VmLabel> Points,
        Dictionary<string, VmLabel> Addresses,
        Dictionary<string, VmLabel> Guests)
    {
        public static readonly Snapshot Empty = new([], new(StringComparer.Ordinal), new(StringComparer.Ordinal));

        public static Snapshot Build(Dictionary<string, InterfaceInfo[]> tables)
        {
            var points = new Dictionary<(string, string), VmLabel>();
            var byMac = new Dictionary<string, VmLabel>(StringComparer.Ordinal);
            foreach (var (node, table) in tables.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                foreach (var iface in table.Where(i => i.VmId.Length > 0 || i.VmName.Length > 0))
                {
                    var vm = new VmLabel(iface.VmId, iface.VmName, iface.VmNic, node, iface.Name);
                    points.TryAdd((node, iface.Name), vm);
                    if (iface.Point.Length > 0)
                    {
                        points.TryAdd((node, iface.Point), vm);
                    }

                    if (iface.VmMac.Length > 0)
                    {
                        byMac.TryAdd(NormalMac(iface.VmMac), vm);
                    }
                }
            }

            var addresses = new Dictionary<string, VmLabel>(StringComparer.Ordinal);
            var guests = new Dictionary<string, VmLabel>(StringComparer.Ordinal);
            foreach (var (node, table) in tables.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                foreach (var iface in table)
                {
                    // A vif carries the guest's MAC as vm_mac, not as its own mac: only a NIC
                    // whose own MAC is some vif's vm_mac is a guest NIC.
                    if (iface.Mac.Length == 0 || !byMac.TryGetValue(NormalMac(iface.Mac), out var vm) || vm.HypervisorNode == node)
                    {
                        continue;
                    }

                    guests.TryAdd(node, vm);
                    points.TryAdd((node, iface.Name), vm);
                    if (iface.Point.Length > 0)
                    {
                        points.TryAdd((node, iface.Point), vm);
                    }

                    foreach (var address in iface.Addresses)
                    {
                        if (Canonical(address) is { } key)
                        {
                            addresses.TryAdd(key, vm);
                        }
                    }
                }
            }

            return new Snapshot(points, addresses, guests);
        }
    }
}
