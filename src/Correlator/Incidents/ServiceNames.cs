namespace HopCapture.Correlator.Incidents;

/// <summary>
/// Names for the ports the traffic on a hypervisor's links usually belongs to, so a top talker
/// reads "ceph-osd" rather than "tcp 6802": distributed storage (Ceph, iSCSI, NFS, DRBD), the
/// cluster stack (corosync) and VM migration are what field report 003 found filling a bond.
/// </summary>
public static class ServiceNames
{
    private static readonly (int From, int To, string Name)[] s_tcp =
    [
        (22, 22, "ssh"), (80, 80, "http"), (111, 111, "rpcbind"), (443, 443, "https"), (873, 873, "rsync"),
        (2049, 2049, "nfs"), (3260, 3260, "iscsi"), (3300, 3300, "ceph-mon"), (5201, 5201, "iperf3"),
        (6789, 6789, "ceph-mon"), (6800, 7300, "ceph-osd"), (7788, 7799, "drbd"), (8006, 8006, "proxmox-api"),
        (8007, 8007, "proxmox-backup"), (10809, 10809, "nbd"), (60000, 60050, "pve-migration"),
    ];

    private static readonly (int From, int To, string Name)[] s_udp =
    [
        (53, 53, "dns"), (123, 123, "ntp"), (2049, 2049, "nfs"), (4789, 4789, "vxlan"), (5201, 5201, "iperf3"),
        (5404, 5405, "corosync"), (6081, 6081, "geneve"), (8472, 8472, "vxlan"),
    ];

    /// <summary>The service of a flow by either port (the server's side is the known one), or the protocol's name.</summary>
    public static string Of(uint protocol, uint srcPort, uint dstPort)
    {
        var table = protocol switch
        {
            6 => s_tcp,
            17 => s_udp,
            _ => [],
        };
        return Find(table, dstPort) ?? Find(table, srcPort) ?? Protocol(protocol);
    }

    public static string Protocol(uint protocol) => protocol switch
    {
        1 => "icmp",
        6 => "tcp",
        17 => "udp",
        47 => "gre",
        50 => "esp",
        58 => "icmpv6",
        112 => "vrrp",
        132 => "sctp",
        _ => "ip/" + protocol.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static string? Find((int From, int To, string Name)[] table, uint port)
    {
        foreach (var (from, to, name) in table)
        {
            if (port >= from && port <= to)
            {
                return name;
            }
        }

        return null;
    }
}
