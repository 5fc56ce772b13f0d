using System.Globalization;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Discovery;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using Microsoft.Extensions.Options;

namespace HopCapture.Agent.Capture;

/// <summary>Where an interface of the table stands (InterfaceInfo.state on the wire).</summary>
public enum InterfaceState
{
    /// <summary>Wanted but not present on the node (yet): a tap whose VM has not started.</summary>
    Waiting,

    /// <summary>Captured (or replayed) right now.</summary>
    Capturing,

    /// <summary>Was captured, then vanished (VM stopped or migrated away); it keeps its index.</summary>
    Gone,

    /// <summary>Present but the capture could not be opened or died; the detail says why.</summary>
    Error,
}

/// <summary>
/// One entry of the agent's interface table; <see cref="Index"/> (its position) is the id
/// observations carry and never changes. What discovery says about it and its state change
/// while the agent runs; the table publishes those changes (<see cref="AgentInterfaces.Version"/>).
/// </summary>
public sealed class AgentInterface
{
    private volatile DiscoveredInterface _discovered;

    internal AgentInterface(int index, DiscoveredInterface discovered, InterfaceState state, InterfaceCounters counters)
    {
        Index = index;
        _discovered = discovered;
        State = state;
        Counters = counters;
    }

    public int Index { get; }

    public string Name => _discovered.Name;

    public PointRole Role => _discovered.Role;

    public string Point => _discovered.Point;

    /// <summary>Fed from a capture file instead of live capture.</summary>
    public bool Replay => _discovered.Replay is not null;

    public DiscoveredInterface Discovered
    {
        get => _discovered;
        internal set => _discovered = value;
    }

    public InterfaceCounters Counters { get; }

    /// <summary>Set by the table under its lock; read without it.</summary>
    public InterfaceState State { get; internal set; }

    /// <summary>Why the state is what it is (an error, when it vanished); null when there is nothing to say.</summary>
    public string? StateDetail { get; internal set; }

    /// <summary>The kernel ifindex the current capture was opened on; 0 when not capturing.</summary>
    public int IfIndex { get; internal set; }

    /// <summary>Was captured at least once by this process (so a vanished one is "gone", not "waiting").</summary>
    public bool EverCaptured { get; internal set; }
}

/// <summary>
/// The agent's interface table: append-only (a vanished interface keeps its entry with state
/// gone; a re-appearing name gets its old index back), thread-safe, with per-entry state and
/// discovery metadata and the live counters the capture threads write. Hello lists the whole
/// table; every change bumps <see cref="Version"/> so the upload session sends the table again
/// (InterfacesChanged) before any batch that could use a new index.
/// </summary>
public sealed class AgentInterfaces
{
    private readonly Lock _gate = new();
    private readonly List<Action> _refreshers = [];
    private volatile AgentInterface[] _all = [];
    private long _version;

    /// <summary>Name of the prober's point (role app), listed after the configured interfaces.</summary>
    public const string AppName = "app";

    public AgentInterfaces(IOptions<AgentOptions> options)
        : this(options.Value.Interfaces, withApp: false)
    {
    }

    /// <summary>
    /// Starts the table with the configured interfaces (in order, so their indices are their
    /// positions in the configuration) as waiting, and the prober's app point when probing.
    /// </summary>
    public AgentInterfaces(IEnumerable<InterfaceOptions> interfaces, bool withApp = false)
    {
        ArgumentNullException.ThrowIfNull(interfaces);
        foreach (var configured in StaticInterfaceSource.ToDiscovered(interfaces))
        {
            GetOrAdd(configured);
        }

        if (withApp)
        {
            var app = GetOrAdd(new DiscoveredInterface(AppName, PointRole.App, AppName, ""));
            app.State = InterfaceState.Capturing;
            app.Counters.Up = true;
        }

        _version = 0;
    }

    /// <summary>The table in index order (a snapshot: entries appended later are not in it).</summary>
    public IReadOnlyList<AgentInterface> All => _all;

    /// <summary>Bumped on every append, metadata change and state change.</summary>
    public long Version => Interlocked.Read(ref _version);

    /// <summary>Raised (outside the lock) after the table changed; handlers must not block.</summary>
    public event Action? Changed;

    /// <summary>
    /// The entry named <paramref name="discovered"/>.Name, appended (state waiting) when new;
    /// an existing entry takes the new metadata (VM name, role, detail) when it differs.
    /// </summary>
    public AgentInterface GetOrAdd(DiscoveredInterface discovered)
    {
        ArgumentNullException.ThrowIfNull(discovered);
        AgentInterface entry;
        lock (_gate)
        {
            entry = Array.Find(_all, e => e.Name == discovered.Name)!;
            if (entry is not null)
            {
                if (entry.Discovered == discovered)
                {
                    return entry;
                }

                entry.Discovered = discovered;
            }
            else
            {
                entry = new AgentInterface(_all.Length, discovered, InterfaceState.Waiting, new InterfaceCounters());
                _all = [.. _all, entry];
            }

            Interlocked.Increment(ref _version);
        }

        Changed?.Invoke();
        return entry;
    }

    /// <summary>Sets an entry's state and detail; a change bumps the version. Returns whether it changed.</summary>
    public bool SetState(AgentInterface entry, InterfaceState state, string? detail = null, int ifIndex = 0)
    {
        ArgumentNullException.ThrowIfNull(entry);
        lock (_gate)
        {
            entry.IfIndex = ifIndex;
            if (state == InterfaceState.Capturing)
            {
                entry.EverCaptured = true;
            }

            if (entry.State == state && entry.StateDetail == detail)
            {
                return false;
            }

            entry.State = state;
            entry.StateDetail = detail;
            Interlocked.Increment(ref _version);
        }

        Changed?.Invoke();
        return true;
    }

    /// <summary>Registers a callback that copies kernel counters (pcap_stats) into the counters.</summary>
    public void AddRefresher(Action refresh)
    {
        lock (_gate)
        {
            _refreshers.Add(refresh);
        }
    }

    /// <summary>The whole table as Hello and InterfacesChanged carry it.</summary>
    public IEnumerable<InterfaceInfo> ToInfos() => _all.Select(ToInfo);

    private static InterfaceInfo ToInfo(AgentInterface i)
    {
        var d = i.Discovered;
        var ifIndex = i.IfIndex != 0 ? (uint)i.IfIndex
            : uint.TryParse(ReadSys(i.Name, "ifindex"), NumberStyles.None, CultureInfo.InvariantCulture, out var index) ? index : 0;
        return new InterfaceInfo
        {
            Name = i.Name,
            Role = i.Role.ToProto(),
            Point = i.Point,
            Mac = i.Role == PointRole.App ? "" : ReadSys(i.Name, "address") ?? "",
            IfIndex = i.Role == PointRole.App ? 0 : ifIndex,
            Addresses = { i.Role == PointRole.App ? [] : Addresses(i.Name) },
            Source = d.Source,
            VmId = d.VmId ?? "",
            VmName = d.VmName ?? "",
            VmNic = d.VmNic,
            VmMac = d.VmMac ?? "",
            State = StateName(i.State),
            Detail = i.StateDetail ?? d.Detail ?? "",
        };
    }

    public static string StateName(InterfaceState state) => state switch
    {
        InterfaceState.Waiting => "waiting",
        InterfaceState.Capturing => "capturing",
        InterfaceState.Gone => "gone",
        _ => "error",
    };

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

        return _all.Select(i => new InterfaceStats
        {
            Iface = (uint)i.Index,
            Captured = (ulong)i.Counters.Captured,
            KernelDropped = (ulong)i.Counters.KernelDropped,
            InterfaceDropped = (ulong)i.Counters.InterfaceDropped,
            QueueDropped = (ulong)i.Counters.QueueDropped,
            Malformed = (ulong)i.Counters.Malformed,
            Up = i.Counters.Up,
            Error = i.Counters.Error ?? "",
            State = StateName(i.State),
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
