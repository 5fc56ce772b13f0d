using System.Globalization;
using System.Text.RegularExpressions;
using HopCapture.Protos;

namespace HopCapture.Agent.Evidence;

/// <summary>A capture interface the sampler watches: its kernel name and the logical point it is part of.</summary>
internal readonly record struct WatchedInterface(string Name, string Point);

/// <summary>
/// Turns successive samples of the devices under the capture interfaces into changes: a state
/// that differs from the previous sample (carrier, port STP state, STP switch, forward delay,
/// topology change), a counter that rose (drops, errors, carrier_changes, qdisc drops), a kernel
/// line that names a watched device. The first sample of a device records its states (the
/// baseline a timeline starts from) but not its counters. With an <see cref="EthtoolReader"/>, a
/// NIC's driver loss counters, coalescing and offloads join the device's readings. Devices are each capture interface,
/// the bridge or bond it is enslaved to (and that one's master), and a bond's slaves.
/// </summary>
internal sealed partial class EvidenceSampler(string root, QdiscReader? qdisc, KernelLogReader? kernel, EthtoolReader? ethtool = null)
{
    private const int MaxMasterDepth = 3;
    private readonly Dictionary<(string Device, string Name), Reading> _last = [];
    private readonly List<Reading> _readings = [];

    /// <summary>One sample at <paramref name="nowNs"/> (unix ns): the changes since the previous one.</summary>
    public List<HostEvidence> Sample(IEnumerable<WatchedInterface> watched, long nowNs)
    {
        var devices = Devices(watched);
        var qdiscs = qdisc?.Read();
        var changes = new List<HostEvidence>();
        var seen = new HashSet<(string, string)>();
        foreach (var (device, points) in devices)
        {
            _readings.Clear();
            DeviceReadings.Read(root, device, _readings);
            var ifIndex = DeviceReadings.IfIndex(root, device);
            ethtool?.Read(device, ifIndex, nowNs, _readings);
            if (qdiscs is not null && qdiscs.TryGetValue(ifIndex, out var q))
            {
                // A qdisc replaced (a shaper added to a tap) is evidence too: "noqueue → tbf".
                _readings.Add(Reading.State("qdisc", "qdisc", q.Kind));
                _readings.Add(Reading.Counter("qdisc", "qdisc_drops", q.Drops));
                _readings.Add(Reading.Counter("qdisc", "qdisc_overlimits", q.Overlimits));
            }

            foreach (var reading in _readings)
            {
                var key = (device, reading.Name);
                seen.Add(key);
                var known = _last.TryGetValue(key, out var before);
                _last[key] = reading;
                if (!known)
                {
                    if (!reading.IsCounter)
                    {
                        changes.Add(Evidence(nowNs, device, points, reading, previous: "", delta: 0));
                    }
                }
                else if (reading.IsCounter ? reading.Count > before.Count : reading.Value != before.Value)
                {
                    var delta = reading.IsCounter ? reading.Count - before.Count : 0;
                    var change = Evidence(nowNs, device, points, reading, before.Value, delta);
                    if (reading.Name == "qdisc_drops" && qdiscs!.TryGetValue(ifIndex, out var backlog))
                    {
                        change.Value += string.Create(CultureInfo.InvariantCulture, $" ({backlog.Kind}, backlog {backlog.BacklogBytes} b {backlog.BacklogPackets} p)");
                    }

                    changes.Add(change);
                }
            }
        }

        // A device that vanished (a VM stopped, a tap was re-created) starts from a new baseline.
        ethtool?.Retain(devices.Keys);
        foreach (var key in _last.Keys.Where(k => !seen.Contains(k)).ToList())
        {
            _last.Remove(key);
        }

        if (kernel is not null)
        {
            foreach (var line in kernel.ReadNew(nowNs))
            {
                if (DeviceOf(line.Text, devices) is { } device)
                {
                    changes.Add(new HostEvidence
                    {
                        TsNs = line.TimestampNs, Device = device, Kind = "kernel", Name = "kmsg", Value = line.Text, Points = { devices[device] },
                    });
                }
            }
        }

        return changes;
    }

    /// <summary>Every device to sample and the capture points it carries (sorted, for stable output).</summary>
    internal SortedDictionary<string, SortedSet<string>> Devices(IEnumerable<WatchedInterface> watched)
    {
        var devices = new SortedDictionary<string, SortedSet<string>>(StringComparer.Ordinal);
        void Add(string device, string point)
        {
            if (!DeviceReadings.Exists(root, device))
            {
                return;
            }

            if (!devices.TryGetValue(device, out var points))
            {
                points = new SortedSet<string>(StringComparer.Ordinal);
                devices.Add(device, points);
            }

            points.Add(point);
        }

        foreach (var iface in watched)
        {
            if (!DeviceReadings.Exists(root, iface.Name))
            {
                continue;
            }

            Add(iface.Name, iface.Point);
            foreach (var slave in DeviceReadings.Slaves(root, iface.Name))
            {
                Add(slave, iface.Point);
            }

            var device = iface.Name;
            for (var depth = 0; depth < MaxMasterDepth && DeviceReadings.Master(root, device) is { } master; depth++)
            {
                Add(master, iface.Point);
                device = master;
            }
        }

        return devices;
    }

    /// <summary>
    /// The watched device a kernel line is about: the port of a bridge message ("vmbr0: port
    /// 2(tap100i0) entered blocking state"), else the first watched device named in it.
    /// </summary>
    internal static string? DeviceOf(string text, IDictionary<string, SortedSet<string>> devices)
    {
        var port = BridgePortRegex().Match(text);
        if (port.Success)
        {
            // Another namespace's bridge may share the name; its port decides whose line it is.
            return devices.ContainsKey(port.Groups[1].Value) ? port.Groups[1].Value : null;
        }

        foreach (Match token in TokenRegex().Matches(text))
        {
            var name = token.Value.TrimEnd(':');
            if (devices.ContainsKey(name))
            {
                return name;
            }
        }

        return null;
    }

    private static HostEvidence Evidence(long nowNs, string device, SortedSet<string> points, Reading reading, string previous, long delta) => new()
    {
        TsNs = nowNs,
        Device = device,
        Kind = reading.Kind,
        Name = reading.Name,
        Value = reading.Value,
        Previous = previous,
        Delta = delta,
        Bridge = reading.Bridge,
        ForwardDelayNs = reading.ForwardDelayNs,
        Points = { points },
    };

    [GeneratedRegex(@"^\S+: port \d+\(([^)]+)\)")]
    private static partial Regex BridgePortRegex();

    [GeneratedRegex(@"[A-Za-z0-9_.@-]+:?")]
    private static partial Regex TokenRegex();
}
