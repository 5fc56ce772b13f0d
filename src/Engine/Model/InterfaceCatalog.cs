using System.Collections.Concurrent;

namespace HopCapture.Engine.Model;

/// <summary>A captured interface: a node's kernel interface and the logical point it belongs to.</summary>
public sealed record InterfaceEntry(int Id, string Node, string Iface, string Point, PointRole Role, int PointId);

/// <summary>A logical observation point: one per (node, point). Bond slaves share their bond's point.</summary>
public sealed record PointEntry(int Id, string Node, string Point, PointRole Role);

/// <summary>
/// Interns interfaces and points to small integer ids so observations stay compact.
/// Thread-safe; ids are never reused, so an id read once stays valid.
/// </summary>
public sealed class InterfaceCatalog
{
    private readonly ConcurrentDictionary<(string Node, string Iface), InterfaceEntry> _byName = new();
    private readonly ConcurrentDictionary<(string Node, string Point), PointEntry> _points = new();
    private readonly Lock _gate = new();
    private InterfaceEntry[] _interfaces = [];
    private PointEntry[] _pointList = [];

    /// <summary>
    /// Registers (or finds) an interface. Re-registering with another point or role updates
    /// the mapping for observations that come later (an agent restarted with a new config).
    /// </summary>
    public InterfaceEntry Register(string node, string iface, string? point, PointRole role)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(node);
        ArgumentException.ThrowIfNullOrWhiteSpace(iface);
        var pointName = string.IsNullOrWhiteSpace(point) ? iface : point;
        if (_byName.TryGetValue((node, iface), out var existing) && existing.Point == pointName && existing.Role == role)
        {
            return existing;
        }

        lock (_gate)
        {
            if (!_points.TryGetValue((node, pointName), out var pointEntry) || pointEntry.Role != role)
            {
                pointEntry = new PointEntry(_pointList.Length, node, pointName, role);
                _pointList = [.. _pointList, pointEntry];
                _points[(node, pointName)] = pointEntry;
            }

            var entry = new InterfaceEntry(_interfaces.Length, node, iface, pointName, role, pointEntry.Id);
            _interfaces = [.. _interfaces, entry];
            _byName[(node, iface)] = entry;
            return entry;
        }
    }

    public InterfaceEntry Interface(int id) => Volatile.Read(ref _interfaces)[id];

    public PointEntry Point(int id) => Volatile.Read(ref _pointList)[id];

    public int InterfaceCount => Volatile.Read(ref _interfaces).Length;

    public bool TryGetInterface(int id, out InterfaceEntry entry)
    {
        var snapshot = Volatile.Read(ref _interfaces);
        if ((uint)id < (uint)snapshot.Length)
        {
            entry = snapshot[id];
            return true;
        }

        entry = null!;
        return false;
    }
}
