using System.Globalization;
using HopCapture.Protos;

namespace HopCapture.Correlator.Causes;

/// <summary>
/// Rule-based cause hints from the host evidence of a segment's interfaces in a freeze's or lost
/// probe's window (issue 15; field report 000's checklist). Each hint names the device, cites its
/// evidence and says the usual fix. Baselines (an agent's first sample) are not changes and prove
/// nothing. When nothing changed on the hosts it says so instead of guessing.
/// </summary>
public static class CauseRules
{
    public const string Stp = "stp";
    public const string LinkFlap = "link_flap";
    public const string QueueOverflow = "queue_overflow";
    public const string NicErrors = "nic_errors";
    public const string NicSettings = "nic_settings";
    public const string Kernel = "kernel";
    public const string None = "none";

    private const string StpFix = "if the bridge protects no loop, turn STP off and forward at once: 'bridge-stp off' and 'bridge-fd 0' " +
                                  "in /etc/network/interfaces (now: ip link set BRIDGE type bridge stp_state 0 forward_delay 0); otherwise make VM ports edge ports";
    private const string FlapFix = "find what takes the link down: the VM's NIC (restart, hot-plug, migration) for a tap, the cable, " +
                                   "switch port or driver for a physical NIC (ethtool, dmesg)";
    private const string QueueFix = "the queue is too short for the burst: raise the qdisc limit (tc qdisc … limit), give the VM's " +
                                    "virtio NIC more queues (queues=N), or shape the bulk traffic that fills it";
    private const string NicFix = "check the NIC: ethtool -S for ring and fifo drops, larger rings (ethtool -G), interrupt coalescing " +
                                  "(ethtool -c/-C), the cable and switch port for CRC errors";
    private const string SettingsFix = "changing offloads or coalescing resets the NIC's queues on many drivers: leave them consistent along the path " +
                                       "and out of working hours; check 'ethtool -k DEVICE' and 'ethtool -c DEVICE' and set them in the interface config";
    private const string KernelFix = "read the kernel log around that time (dmesg -T) for the driver or bridge message";

    private static readonly HashSet<string> DropCounters = ["rx_dropped", "tx_dropped", "qdisc_drops"];

    /// <summary>
    /// The agent names a NIC driver's own counters (<c>ethtool -S</c>) "driver:NAME"; a driver's
    /// drop, miss, fifo or error counter rising is its ring or hardware losing frames.
    /// </summary>
    private const string DriverCounterPrefix = "driver:";

    /// <summary>
    /// Hints for a segment of kind <paramref name="segment"/> whose endpoints are <paramref name="nodes"/>,
    /// from <paramref name="evidence"/> (oldest first, <see cref="HostEvidence.Node"/> filled).
    /// </summary>
    public static List<CauseHint> Hints(string segment, IReadOnlyCollection<string> nodes, IReadOnlyList<HostEvidence> evidence)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        ArgumentNullException.ThrowIfNull(evidence);
        var hints = new List<CauseHint>();
        var changes = evidence.Where(e => e.Previous.Length > 0 || e.Kind == "kernel").ToList();
        foreach (var device in changes.GroupBy(e => (e.Node, e.Device)))
        {
            var found = new List<CauseHint>();
            var items = device.ToList();
            AddStp(found, device.Key, items);
            AddFlap(found, device.Key, items);
            AddCounters(found, device.Key, items, QueueOverflow, e => e.Kind is "counter" or "qdisc" && DropCounters.Contains(e.Name) && !IsDriverCounter(e),
                "dropped {0}: its queue overflowed", QueueFix);
            AddCounters(found, device.Key, items, NicErrors, e => e.Kind == "counter" && (IsDriverCounter(e) || !DropCounters.Contains(e.Name)),
                "counted {0}", NicFix);
            AddSettings(found, device.Key, items);
            var lines = items.Where(e => e.Kind == "kernel").ToList();
            if (found.Count > 0)
            {
                found[0].Evidence.AddRange(lines);
            }
            else if (lines.Count > 0)
            {
                found.Add(Hint(Kernel, device.Key, $"the kernel logged {lines.Count} line(s) about {device.Key.Device}: \"{lines[^1].Value}\"", KernelFix, lines));
            }

            hints.AddRange(found);
        }

        FoldTopologyChanges(hints);
        if (hints.Count == 0)
        {
            var where = string.Join(" or ", nodes.Distinct());
            hints.Add(new CauseHint
            {
                Cause = None,
                Summary = segment.Contains("fabric", StringComparison.Ordinal)
                    ? $"nothing on {where} changed: look at the switches"
                    : $"nothing on {where} changed in that window: no host cause found",
            });
        }

        // STP first: when it is there it explains the length of the freeze.
        return [.. hints.OrderBy(h => Array.IndexOf([Stp, LinkFlap, QueueOverflow, NicErrors, NicSettings, Kernel], h.Cause))];
    }

    /// <summary>A bridge port that went through listening/learning, or a topology change on the bridge.</summary>
    private static void AddStp(List<CauseHint> hints, (string Node, string Device) device, List<HostEvidence> items)
    {
        var states = items.Where(e => e.Kind == "port_state").ToList();
        var topology = items.Where(e => e.Kind == "stp" && e.Name == "topology_change" && e.Value == "yes").ToList();
        if (!states.Any(e => e.Value is "listening" or "learning") && topology.Count == 0)
        {
            return;
        }

        if (states.Count == 0)
        {
            hints.Add(Hint(Stp, device, $"bridge {device.Device} had a topology change: STP re-convergence", StpFix.Replace("BRIDGE", device.Device, StringComparison.Ordinal), topology));
            return;
        }

        var bridge = states[0].Bridge;
        var path = string.Join(" → ", new[] { states[0].Previous }.Concat(states.Select(e => e.Value)));
        var text = $"port {device.Device} on bridge {bridge} went {path}";
        var left = states.FirstOrDefault(e => e.Value != "forwarding");
        var listening = states.FirstOrDefault(e => e.Value is "listening" or "learning");
        var back = left is null ? null : states.FirstOrDefault(e => e.TsNs > left.TsNs && e.Value == "forwarding");
        if (left is not null && back is not null)
        {
            text += string.Create(CultureInfo.InvariantCulture, $": not forwarding for {(back.TsNs - left.TsNs) / 1e9:0.#} s");
            var delay = states[0].ForwardDelayNs;
            if (listening is not null && delay > 0)
            {
                var stp = back.TsNs - listening.TsNs;
                text += string.Create(CultureInfo.InvariantCulture,
                    $", of which listening + learning {stp / 1e9:0.#} s = {(double)stp / delay:0.#}× the forward delay of {delay / 1e9:0.#} s");
            }
        }

        hints.Add(Hint(Stp, device, text + ": STP re-convergence", StpFix.Replace("BRIDGE", bridge, StringComparison.Ordinal), [.. states, .. topology]));
    }

    /// <summary>A bridge's topology change belongs to the port hint that caused it, when there is one.</summary>
    private static void FoldTopologyChanges(List<CauseHint> hints)
    {
        foreach (var bridge in hints.Where(h => h.Cause == Stp && h.Evidence.All(e => e.Kind != "port_state")).ToList())
        {
            if (hints.FirstOrDefault(h => h != bridge && h.Cause == Stp && h.Node == bridge.Node && h.Evidence.Any(e => e.Bridge == bridge.Device && e.Kind == "port_state")) is { } port)
            {
                port.Evidence.AddRange(bridge.Evidence);
                port.Summary += $"; {bridge.Device} flagged a topology change";
                hints.Remove(bridge);
            }
        }
    }

    private static void AddFlap(List<CauseHint> hints, (string Node, string Device) device, List<HostEvidence> items)
    {
        var carrier = items.Where(e => e.Kind == "carrier").ToList();
        if (carrier.Count == 0)
        {
            return;
        }

        var changes = carrier.Where(e => e.Name == "carrier_changes").Sum(e => e.Delta);
        var flips = carrier.Where(e => e.Name == "carrier").Select(e => e.Value).ToList();
        var text = $"{device.Device} lost its link" +
                   (flips.Count > 0 ? $" ({string.Join(" → ", flips)})" : "") +
                   (changes > 0 ? string.Create(CultureInfo.InvariantCulture, $", carrier_changes +{changes}") : "");
        hints.Add(Hint(LinkFlap, device, text, FlapFix, carrier));
    }

    private static bool IsDriverCounter(HostEvidence e) => e.Name.StartsWith(DriverCounterPrefix, StringComparison.Ordinal);

    /// <summary>Someone changed the NIC's offloads (<c>ethtool -K</c>) or coalescing (<c>ethtool -C</c>) in the window.</summary>
    private static void AddSettings(List<CauseHint> hints, (string Node, string Device) device, List<HostEvidence> items)
    {
        var changed = items.Where(e => e.Kind is "offload" or "coalesce").ToList();
        if (changed.Count == 0)
        {
            return;
        }

        var what = string.Join(" and ", changed.Select(e => e.Kind == "offload" ? "offload" : "coalescing").Distinct());
        var text = $"{what} settings changed on {device.Device} during the freeze: " +
                   string.Join("; ", changed.Select(e => $"{e.Previous} → {e.Value}"));
        hints.Add(Hint(NicSettings, device, text, SettingsFix.Replace("DEVICE", device.Device, StringComparison.Ordinal), changed));
    }

    private static void AddCounters(List<CauseHint> hints, (string Node, string Device) device, List<HostEvidence> items, string cause,
        Func<HostEvidence, bool> select, string format, string fix)
    {
        var rising = items.Where(e => e.Delta > 0 && select(e)).ToList();
        if (rising.Count == 0)
        {
            return;
        }

        var counts = string.Join(", ", rising.GroupBy(e => e.Name).Select(g => string.Create(CultureInfo.InvariantCulture, $"{g.Key} +{g.Sum(e => e.Delta)}")));
        hints.Add(Hint(cause, device, $"{device.Device} " + string.Format(CultureInfo.InvariantCulture, format, counts), fix, rising));
    }

    private static CauseHint Hint(string cause, (string Node, string Device) device, string summary, string fix, IEnumerable<HostEvidence> evidence)
    {
        var hint = new CauseHint { Cause = cause, Node = device.Node, Device = device.Device, Summary = summary, Fix = fix };
        hint.Evidence.AddRange(evidence);
        return hint;
    }
}
