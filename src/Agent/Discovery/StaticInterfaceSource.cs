using HopCapture.Agent.Configuration;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Discovery;

/// <summary>
/// The configured interface list (<c>Agent:Interfaces</c>, <c>--iface</c>) as the desired set:
/// it never changes, but the interfaces it names may appear and vanish (a Proxmox tap exists
/// only while its VM runs), which the capture reconciler follows.
/// </summary>
public sealed class StaticInterfaceSource : IInterfaceSource
{
    private readonly DiscoveryResult _result;

    public StaticInterfaceSource(IOptions<AgentOptions> options)
        : this(options?.Value.Interfaces ?? throw new ArgumentNullException(nameof(options)))
    {
    }

    public StaticInterfaceSource(IEnumerable<InterfaceOptions> interfaces)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        _result = new DiscoveryResult("config", ToDiscovered(interfaces), []);
    }

    public DiscoveryResult Current() => _result;

    /// <summary>Configured interfaces in their configured order, with source "config" and their replay file.</summary>
    public static IReadOnlyList<DiscoveredInterface> ToDiscovered(IEnumerable<InterfaceOptions> interfaces) =>
    [
        .. interfaces.Select(o => new DiscoveredInterface(
            o.Name,
            o.ParsedRole,
            string.IsNullOrWhiteSpace(o.Point) ? o.Name : o.Point,
            "config",
            Replay: string.IsNullOrEmpty(o.Replay) ? null : o.Replay)),
    ];
}
