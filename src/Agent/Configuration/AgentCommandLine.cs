using HopCapture.Hosting.CommandLine;

namespace HopCapture.Agent.Configuration;

/// <summary>A configuration or command-line mistake; the message is the whole one-line error.</summary>
public sealed class AgentConfigException : Exception
{
    public AgentConfigException()
    {
    }

    public AgentConfigException(string message)
        : base(message)
    {
    }

    public AgentConfigException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The agent's command line, declared once: each flag with the configuration key it sets
/// (shown by --help). Scalar flags and --Agent:Key=VALUE become configuration keys layered over
/// the config file; --iface and --replay are applied to the bound options by <see cref="ApplyTo"/>.
/// </summary>
public sealed class AgentCommandLine
{
    public static readonly HostFlag NodeFlag = new(
        "--node", "NAME", AgentOptions.Section + ":Node", "this node's name as the correlator shows it (default: the host name)");

    public static readonly HostFlag CorrelatorFlag = new(
        "--correlator", "URL", AgentOptions.Section + ":Correlator", "the correlator's gRPC URL (default http://127.0.0.1:7400)");

    public static readonly HostFlag InterfaceFlag = new(
        "--iface", "NAME=ROLE[:POINT]", AgentOptions.Section + ":Interfaces",
        $"capture interface NAME, role {Roles.Allowed}, POINT e.g. a bond; replaces the config file's list",
        repeatable: true);

    public static readonly HostFlag ReplayFlag = new(
        "--replay", "NAME=FILE", AgentOptions.Section + ":Interfaces:*:Replay",
        "feed interface NAME from a pcap/pcapng file instead of live capture",
        repeatable: true);

    public static readonly HostFlag StateDirectoryFlag = new(
        "--state-dir", "DIR", AgentOptions.Section + ":StateDirectory",
        $"identity and spool (default {AgentOptions.DefaultStateDirectory}; one per agent process)");

    public static HostCommandLine Definition { get; } = new(
        "hopcapture-agent", AgentOptions.Section, [NodeFlag, CorrelatorFlag, InterfaceFlag, ReplayFlag, StateDirectoryFlag], typeof(AgentCommandLine).Assembly)
    {
        Summary = "Captures ICMP echo on this node's interfaces and streams the observations to the correlator.",
        Epilog = "example: hopcapture-agent --node hv1 --correlator http://10.0.0.10:7400 --iface tap100i0=vif --iface eno1=nic:bond0\n" +
                 "interfaces: without --iface or an Agent:Interfaces list (or with \"Interfaces\": \"auto\") the agent finds them itself;\n" +
                 "  hopcapture-agent discover [--root DIR] [--json] prints what it would capture (see discover --help)\n" +
                 "spool: sealed batches wait in DIR/spool (Agent:Spool:Directory) until acked, at most Agent:Spool:MaxBytes (default 256 MiB),\n" +
                 "  the oldest dropped and counted beyond it; they survive restarts and a kill and are sent again in order\n" +
                 "exit codes: 0 done (replay finished or stopped), 1 failed, 2 bad command line or configuration,\n" +
                 "  3 the state directory or spool cannot be used (permissions, disk, another agent holds it)",
    };

    private AgentCommandLine(HostArguments arguments)
    {
        Arguments = arguments;
    }

    public HostArguments Arguments { get; }

    public string? ConfigFile => Arguments.ConfigFile;

    /// <summary>Configuration keys from the flags and --Agent:Key overrides, layered over the config file.</summary>
    public IReadOnlyDictionary<string, string?> Settings => Arguments.Settings;

    /// <summary>Interfaces from --iface; when any are given they replace the config file's list.</summary>
    public List<InterfaceOptions> Interfaces { get; } = [];

    /// <summary>--replay NAME=FILE pairs, applied to the interface of that name.</summary>
    public Dictionary<string, string> Replays { get; } = new(StringComparer.Ordinal);

    /// <exception cref="CommandLineException">An unknown flag or a missing value.</exception>
    /// <exception cref="AgentConfigException">An --iface or --replay value of the wrong form.</exception>
    public static AgentCommandLine Parse(IReadOnlyList<string> args) => From(Definition.Parse(args));

    /// <exception cref="AgentConfigException">An --iface or --replay value of the wrong form.</exception>
    public static AgentCommandLine From(HostArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var result = new AgentCommandLine(arguments);
        foreach (var value in arguments.Values(InterfaceFlag))
        {
            result.Interfaces.Add(ParseIface(value));
        }

        foreach (var value in arguments.Values(ReplayFlag))
        {
            var (name, file) = ParseReplay(value);
            result.Replays[name] = file;
        }

        return result;
    }

    /// <summary>Applies --iface and --replay over options bound from the configuration.</summary>
    public void ApplyTo(AgentOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (Interfaces.Count > 0)
        {
            options.Interfaces = [.. Interfaces.Select(i => new InterfaceOptions { Name = i.Name, Role = i.Role, Point = i.Point })];
        }

        foreach (var (name, file) in Replays)
        {
            var iface = options.Interfaces.Find(i => i.Name == name)
                ?? throw new AgentConfigException($"--replay {name}={file}: no interface '{name}' is configured (add --iface {name}=ROLE)");
            iface.Replay = file;
        }
    }

    private static InterfaceOptions ParseIface(string value)
    {
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == value.Length - 1)
        {
            throw new AgentConfigException($"--iface {value}: expected NAME=ROLE[:POINT], e.g. eno1=nic:bond0");
        }

        var name = value[..eq];
        var rest = value[(eq + 1)..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        var role = colon < 0 ? rest : rest[..colon];
        var point = colon < 0 ? null : rest[(colon + 1)..];
        if (Roles.Parse(role) == Engine.Model.PointRole.Unknown)
        {
            throw new AgentConfigException($"--iface {value}: role '{role}' is not one of {Roles.Allowed}");
        }

        if (point is { Length: 0 })
        {
            throw new AgentConfigException($"--iface {value}: empty point after ':'");
        }

        return new InterfaceOptions { Name = name, Role = role.ToLowerInvariant(), Point = point };
    }

    private static (string Name, string File) ParseReplay(string value)
    {
        var eq = value.IndexOf('=', StringComparison.Ordinal);
        if (eq <= 0 || eq == value.Length - 1)
        {
            throw new AgentConfigException($"--replay {value}: expected NAME=FILE.pcap");
        }

        return (value[..eq], value[(eq + 1)..]);
    }
}
