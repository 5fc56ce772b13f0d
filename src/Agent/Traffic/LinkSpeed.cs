using System.Globalization;

namespace HopCapture.Agent.Traffic;

/// <summary>
/// A link's speed as the kernel reports it in /sys/class/net/IFACE/speed (Mbit/s), which is what
/// ethtool prints too. Virtual links (veth, tap, bridge) report nothing or -1: unknown, and then
/// "near line rate" is not claimed either way.
/// </summary>
public static class LinkSpeed
{
    /// <summary>Mbit/s, or -1 when unknown.</summary>
    public static long Mbps(string iface, string sysRoot = "/")
    {
        try
        {
            var text = File.ReadAllText(Path.Combine(sysRoot, "sys/class/net", iface, "speed")).Trim();
            return long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var speed) && speed > 0 ? speed : -1;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // veth and tap: reading the attribute fails with EINVAL; an absent interface likewise.
            return -1;
        }
    }
}
