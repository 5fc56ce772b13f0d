using HopCapture.Agent.Configuration;

namespace HopCapture.Agent.Discovery;

/// <summary>The configured <c>Agent:Interfaces</c> list (or --iface), unchanged while the agent runs.</summary>
public sealed class StaticInterfaceSource : IInterfaceSource
{
    private readonly DiscoveryResult _result;

    public StaticInterfaceSource(IEnumerable<InterfaceOptions> interfaces)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        _result = new DiscoveryResult(
            "config",
            [.. interfaces.Select(i => new DiscoveredInterface(
                i.Name, i.ParsedRole, string.IsNullOrWhiteSpace(i.Point) ? i.Name : i.Point, "config", Replay: string.IsNullOrEmpty(i.Replay) ? null : i.Replay))],
            []);
    }

    public DiscoveryResult Current() => _result;
}
