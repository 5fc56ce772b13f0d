using System.Globalization;
using HopCapture.Agent.Configuration;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Capture;

/// <summary>One configured interface; its position in the list is the id observations carry.</summary>
public sealed record AgentInterface(int Index, string Name, PointRole Role, string Point, bool Replay, InterfaceCounters Counters);

/// <summary>
/// The configured interfaces and their live counters: what the capture threads write and what
/// Hello and Heartbeat report.
/// </summary>
public sealed class AgentInterfaces
{
    private readonly Lock _gate = new();
    private readonly List<Action> _refreshers = [];

    /// <summary>Name of the prober's point (role app), listed after the captured interfaces.</summary>
    public const string AppName = "app";

    public AgentInterfaces(IOptions<AgentOptions> options)
        : this(options.Value.Interfaces, withApp: false)
    {
    }

    public AgentInterfaces(IEnumerable<InterfaceOptions> interfaces, bool withApp = false)
    {
        All = [.. interfaces.Select((o, i) => new AgentInterface(
            i, o.Name, o.ParsedRole, string.IsNullOrWhiteSpace(o.Point) ? o.Name : o.Point, !string.IsNullOrEmpty(o.Replay), new InterfaceCounters()))];
        if (withApp)
        {
            All = [.. All, new AgentInterface(All.Count, AppName, PointRole.App, AppName, false, new InterfaceCounters { Up = true })];
        }
    }

    public IReadOnlyList<AgentInterface> All { get; }

    /// <summary>Registers a callback that copies kernel counters (pcap_stats) into the counters.</summary>
    public void AddRefresher(Action refresh)
    {
        lock (_gate)
        {
            _refreshers.Add(refresh);
        }
    }

    public IEnumerable<InterfaceInfo> ToInfos() => All.Select(i => new InterfaceInfo
    {
        Name = i.Name,
        Role = i.Role.ToProto(),
        Point = i.Point,
        Mac = ReadSys(i.Name, "address") ?? "",
        IfIndex = uint.TryParse(ReadSys(i.Name, "ifindex"), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : 0,
        Addresses = { i.Role == PointRole.App ? [] : Addresses(i.Name) },
    });

    /// <summary>The interface's IP addresses, so the correlator can resolve this node's name to a probe target.</summary>
    private static IEnumerable<string> Addresses(string iface)
    {
        try
        {
            var nic = System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces().FirstOrDefault(n => n.Name == iface);
            return nic is null ? [] : [.. nic.GetIPProperties().UnicastAddresses.Select(a => a.Address.ToString())];
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return [];
        }
    }

    public IEnumerable<InterfaceStats> Snapshot()
    {
        Action[] refreshers;
        lock (_gate)
        {
            refreshers = [.. _refreshers];
        }

        foreach (var refresh in refreshers)
        {
            refresh();
        }

        return All.Select(i => new InterfaceStats
        {
            Iface = (uint)i.Index,
            Captured = (ulong)i.Counters.Captured,
            KernelDropped = (ulong)i.Counters.KernelDropped,
            InterfaceDropped = (ulong)i.Counters.InterfaceDropped,
            QueueDropped = (ulong)i.Counters.QueueDropped,
            Malformed = (ulong)i.Counters.Malformed,
            Up = i.Counters.Up,
            Error = i.Counters.Error ?? "",
        });
    }

    private static string? ReadSys(string iface, string file)
    {
        try
        {
            var path = Path.Combine("/sys/class/net", iface, file);
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }
}
