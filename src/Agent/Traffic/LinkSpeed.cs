using System.Globalization;

namespace HopCapture.Agent.Traffic;

/// <summary>
/// A link's speed as the kernel reports it in /sys/class/net/IFACE/speed (Mbit/s), which is what
/// ethtool prints too, for links backed by a device (/sys/class/net/IFACE/device exists). Virtual
/// links have no line rate: a tap or bridge reports nothing, and a veth that is up reports a
/// made-up 10000 (checked on this kernel), so both count as unknown, and then "near line rate"
/// is not claimed either way.
/// </summary>
public static class LinkSpeed
{
    /// <summary>Mbit/s, or -1 when unknown.</summary>
    public static long Mbps(string iface, string sysRoot = "/")
    {
        var link = Path.Combine(sysRoot, "sys/class/net", iface);
        if (!Directory.Exists(Path.Combine(link, "device")))
        {
            return -1;
        }

        try
        {
            var text = File.ReadAllText(Path.Combine(link, "speed")).Trim();
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var speed) && speed > 0 ? speed : -1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // veth and tap: reading the attribute fails with EINVAL; an absent interface likewise.
            return -1;
        }
    }
}
