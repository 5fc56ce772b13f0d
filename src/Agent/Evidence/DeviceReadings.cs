using System.Globalization;

namespace HopCapture.Agent.Evidence;

/// <summary>One value read from a device: a state (compared as text) or a counter (only rises are news).</summary>
internal readonly record struct Reading(string Kind, string Name, string Value, long Count, bool IsCounter, string Bridge = "", long ForwardDelayNs = 0)
{
    public static Reading State(string kind, string name, string value, string bridge = "", long forwardDelayNs = 0) =>
        new(kind, name, value, 0, false, bridge, forwardDelayNs);

    public static Reading Counter(string kind, string name, long count) =>
        new(kind, name, count.ToString(CultureInfo.InvariantCulture), count, true);
}

/// <summary>
/// What <c>/sys/class/net</c> says about one device: carrier and carrier_changes, the drop and
/// error counters, its bridge port's STP state, and for a bridge its STP switch, forward delay
/// and topology-change flag. Plain file reads: no process, no netlink; a device that vanishes
/// mid-read yields what was read before it went.
/// </summary>
internal static class DeviceReadings
{
    /// <summary>The counters an operator would look at in <c>ip -s link</c> for drops and errors.</summary>
    internal static readonly string[] Counters =
    [
        "rx_dropped", "tx_dropped", "rx_errors", "tx_errors", "rx_fifo_errors", "tx_fifo_errors",
        "rx_missed_errors", "rx_over_errors", "rx_crc_errors",
    ];

    /// <summary>br_port_state_names in the kernel (net/bridge/br_stp.c).</summary>
    private static readonly string[] PortStates = ["disabled", "listening", "learning", "forwarding", "blocking"];

    /// <summary>The kernel reports forward_delay in USER_HZ (centiseconds).</summary>
    private const long CentisecondNs = 10_000_000;

    public static string NetDirectory(string root) => Path.Combine(root, "sys/class/net");

    public static bool Exists(string root, string device) => Directory.Exists(Path.Combine(NetDirectory(root), device));

    public static int IfIndex(string root, string device) =>
        int.TryParse(Read(Path.Combine(NetDirectory(root), device, "ifindex")), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : 0;

    /// <summary>The bridge or bond this device is enslaved to, or null.</summary>
    public static string? Master(string root, string device)
    {
        var link = Path.Combine(NetDirectory(root), device, "master");
        try
        {
            return File.ResolveLinkTarget(link, returnFinalTarget: false) is { } target ? Path.GetFileName(target.FullName) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A bond's slaves (its physical NICs); empty for anything else.</summary>
    public static IReadOnlyList<string> Slaves(string root, string device) =>
        Read(Path.Combine(NetDirectory(root), device, "bonding", "slaves"))?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? [];

    public static void Read(string root, string device, List<Reading> into)
    {
        var dir = Path.Combine(NetDirectory(root), device);
        // Reading carrier fails (EINVAL) while the device is administratively down.
        var carrier = Read(Path.Combine(dir, "carrier"));
        into.Add(Reading.State("carrier", "carrier", carrier switch { "1" => "up", "0" => "down (no carrier)", _ => "down (admin)" }));
        if (Number(Path.Combine(dir, "carrier_changes")) is { } changes)
        {
            into.Add(Reading.Counter("carrier", "carrier_changes", changes));
        }

        foreach (var counter in Counters)
        {
            if (Number(Path.Combine(dir, "statistics", counter)) is { } value)
            {
                into.Add(Reading.Counter("counter", counter, value));
            }
        }

        if (Number(Path.Combine(dir, "brport", "state")) is { } state && Master(root, device) is { } bridge)
        {
            var name = state >= 0 && state < PortStates.Length ? PortStates[state] : state.ToString(CultureInfo.InvariantCulture);
            into.Add(Reading.State("port_state", "state", name, bridge, ForwardDelayNs(root, bridge)));
        }

        var bridgeDir = Path.Combine(dir, "bridge");
        if (Number(Path.Combine(bridgeDir, "stp_state")) is { } stp)
        {
            var delay = ForwardDelayNs(root, device);
            into.Add(Reading.State("stp", "stp_state", stp == 0 ? "off" : "on", device, delay));
            into.Add(Reading.State("stp", "forward_delay", Seconds(delay), device, delay));
            into.Add(Reading.State("stp", "topology_change", Number(Path.Combine(bridgeDir, "topology_change")) is > 0 ? "yes" : "no", device, delay));
        }
    }

    private static long ForwardDelayNs(string root, string bridge) =>
        (Number(Path.Combine(NetDirectory(root), bridge, "bridge", "forward_delay")) ?? 0) * CentisecondNs;

    private static string Seconds(long ns) => (ns / 1e9).ToString("0.##", CultureInfo.InvariantCulture) + " s";

    private static long? Number(string path) =>
        long.TryParse(Read(path), NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : null;

    private static string? Read(string path)
    {
        try
        {
            return File.ReadAllText(path).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
