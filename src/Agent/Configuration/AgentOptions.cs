using HopCapture.Engine.Model;

namespace HopCapture.Agent.Configuration;

/// <summary>The "Agent" configuration section (its command-line flags: <see cref="AgentCommandLine"/>).</summary>
public sealed class AgentOptions
{
    public const string Section = "Agent";

    public const string DefaultStateDirectory = "/var/lib/hopcapture-agent";

    /// <summary>This node's name as the correlator shows it; defaults to the host name.</summary>
    public string Node { get; set; } = "";

    /// <summary>Correlator gRPC URL: https://HOST:7400, or http:// to a loopback address only.</summary>
    public string Correlator { get; set; } = "http://127.0.0.1:7400";

    /// <summary>
    /// This node's client certificate and key (`capture pki issue-node NODE`) and the CA bundle
    /// that signs the correlator's certificate (section Agent:Tls); needed for https://.
    /// </summary>
    public IngestClient.ClientTlsOptions Tls { get; set; } = new();

    internal static IngestClient.TlsSettingNames TlsNames { get; } = IngestClient.TlsSettingNames.ForSection(Section);

    /// <summary>
    /// The interfaces to capture. The string <c>auto</c>, or no list at all, means discovery
    /// (<see cref="Discovery.HostDiscovery"/>) picks them: see <see cref="AutoInterfaces"/>.
    /// </summary>
    public List<InterfaceOptions> Interfaces { get; set; } = [];

    /// <summary>
    /// True when <c>Agent:Interfaces</c> is <c>auto</c> or empty (and no --iface is given). Set by
    /// <see cref="AgentServiceCollectionExtensions.AddCaptureAgent"/> from the raw configuration value,
    /// because the binder cannot put a string into the list; not a configuration key itself.
    /// </summary>
    public bool AutoInterfaces { get; internal set; }

    /// <summary>The raw scalar value of <c>Agent:Interfaces</c> when it is not a list (validated: only <c>auto</c>).</summary>
    internal string? InterfacesValue { get; set; }

    /// <summary>Directory under which discovery reads etc/, sys/class/net/, run/ and proc/net/vlan (tests point it at a fixture tree).</summary>
    public string DiscoveryRoot { get; set; } = "/";

    /// <summary>What discovery adds or leaves out (Agent:Discovery:Include / Exclude / FirewallPoints).</summary>
    public Discovery.DiscoveryOptions Discovery { get; set; } = new();

    /// <summary>
    /// Also capture IPv4 echo inside VXLAN (UDP 4789 and 8472), Geneve (6081) and GRE, so overlay
    /// fabrics (Proxmox SDN VXLAN zones, flannel) are seen on the underlay. On by default for every
    /// role: a packet that is not UDP to those ports leaves the kernel filter after a few more
    /// instructions, and guests and vifs carry tunnels too (a guest running flannel).
    /// </summary>
    public bool Tunnels { get; set; } = true;

    /// <summary>Bytes captured per frame: enough for VXLAN + IPv4 + ICMP + 16 payload bytes.</summary>
    public int Snaplen { get; set; } = 128;

    /// <summary>Kernel capture ring per handle, in MiB (libpcap's default 2 MiB overflows on busy NICs).</summary>
    public int BufferSizeMb { get; set; } = 8;

    /// <summary>Observations waiting between the capture threads and the uploader; beyond it they are dropped and counted.</summary>
    public int QueueCapacity { get; set; } = 65536;

    public int BatchMax { get; set; } = 1000;

    public TimeSpan BatchInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Where the agent keeps what must survive a restart: its identity (<c>instance-id</c>) and,
    /// by default, its spool. The unit's <c>StateDirectory=hopcapture-agent</c> gives this default.
    /// Required: there is no memory-only mode, because an agent that forgets its batches on a
    /// restart loses exactly the outage it should explain.
    /// </summary>
    public string StateDirectory { get; set; } = DefaultStateDirectory;

    /// <summary>The on-disk spool of sealed batches (Agent:Spool:Directory, Agent:Spool:MaxBytes).</summary>
    public Spool.SpoolOptions Spool { get; set; } = new();

    /// <summary><see cref="Spool"/>'s directory, or <c>spool</c> under <see cref="StateDirectory"/>.</summary>
    public string SpoolDirectory => string.IsNullOrWhiteSpace(Spool.Directory) ? Path.Combine(StateDirectory, "spool") : Spool.Directory;

    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the capture follows interfaces that appear, vanish or are re-created (a VM's tap).</summary>
    public TimeSpan InterfacePoll { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>True when every interface is fed from a file: the agent exits once it is all acked.</summary>
    public bool ReplayOnly => Interfaces.Count > 0 && Interfaces.TrueForAll(i => !string.IsNullOrEmpty(i.Replay));
}

/// <summary>One captured interface.</summary>
public sealed class InterfaceOptions
{
    /// <summary>Kernel interface name.</summary>
    public string Name { get; set; } = "";

    /// <summary>guest | vif | bridge | nic.</summary>
    public string Role { get; set; } = "";

    /// <summary>Logical point (a bond's name for its slaves); empty = the interface itself.</summary>
    public string? Point { get; set; }

    /// <summary>A pcap/pcapng file that feeds this interface instead of live capture.</summary>
    public string? Replay { get; set; }

    /// <summary>The role, or <see cref="PointRole.Unknown"/> when <see cref="Role"/> is not one of the four.</summary>
    public PointRole ParsedRole => Roles.Parse(Role);
}

public static class Roles
{
    public const string Allowed = "guest|vif|bridge|nic";

    public static PointRole Parse(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "guest" => PointRole.Guest,
        "vif" => PointRole.Vif,
        "bridge" => PointRole.Bridge,
        "nic" => PointRole.Nic,
        _ => PointRole.Unknown,
    };
}
