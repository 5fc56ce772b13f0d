namespace HopCapture.Packets.Filters;

/// <summary>Which way the kernel saw the packet cross the interface.</summary>
public enum FilterDirection
{
    Any = 0,
    Inbound = 1,
    Outbound = 2,
}

/// <summary>
/// BPF expressions that keep only ICMP/ICMPv6 echo requests and replies in the kernel, so the
/// agent never copies other traffic to user space.
/// </summary>
public static class EchoFilter
{
    /// <summary>IPv4 echo request/reply or ICMPv6 echo request/reply without extension headers.</summary>
    public const string Echo =
        "(icmp and (icmp[icmptype] == icmp-echo or icmp[icmptype] == icmp-echoreply))"
        + " or (icmp6 and (ip6[40] == 128 or ip6[40] == 129))";

    // `vlan` shifts every later offset in the expression, so the untagged test must come first
    // and each tag level repeats the echo test (CAPTURE-NOTES.md).
    private static readonly string Tagged = $"({Echo}) or (vlan and (({Echo}) or (vlan and ({Echo}))))";

    // IPv4 ICMP inside VXLAN (4789, and 8472, the Linux kernel's historical default that flannel
    // and older Proxmox SDN setups use), Geneve (6081) and GRE (no IP options); offsets per
    // CAPTURE-NOTES.md. Geneve's inner frame starts after a variable options block, so its offsets
    // are computed ((udp[8] & 0x3f) << 2 is the options length in bytes) instead of using the
    // `geneve` keyword, which like `vlan` shifts the offsets of everything after it. Protocol 0x6558
    // is an inner Ethernet frame, 0x0800 a bare inner IPv4 packet. Each clause starts with the port
    // test, so a packet that is not UDP to one of the three ports fails after a few instructions;
    // only the inner protocol is tested here, the decoder checks the echo type.
    private const string Tunnels =
        "(udp dst port 4789 and udp[28:2] == 0x0800 and udp[39] == 1)"
        + " or (udp dst port 8472 and udp[28:2] == 0x0800 and udp[39] == 1)"
        + " or (udp dst port 6081 and ((udp[10:2] == 0x6558 and udp[28 + ((udp[8] & 0x3f) << 2):2] == 0x0800"
        + " and udp[39 + ((udp[8] & 0x3f) << 2)] == 1) or (udp[10:2] == 0x0800 and udp[25 + ((udp[8] & 0x3f) << 2)] == 1)))"
        + " or (ip proto 47 and ip[22:2] == 0x0800 and ip[33] == 1)";

    /// <summary>
    /// Builds the filter: echo (untagged, VLAN, QinQ), optionally IPv4-in-tunnel echo, optionally
    /// restricted to one direction with libpcap's <c>inbound</c>/<c>outbound</c> (live Linux captures).
    /// </summary>
    public static string Build(FilterDirection direction = FilterDirection.Any, bool includeTunnels = false)
    {
        var body = includeTunnels ? $"{Tunnels} or {Tagged}" : Tagged;
        return direction switch
        {
            FilterDirection.Inbound => $"inbound and ({body})",
            FilterDirection.Outbound => $"outbound and ({body})",
            _ => body,
        };
    }
}
