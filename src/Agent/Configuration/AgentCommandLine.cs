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
/// The agent's own flags (--node, --correlator, --iface, --replay, --config). They override the
/// config file; anything else is passed on as ASP.NET-style configuration (--Agent:Snaplen=256).
/// </summary>
public sealed class AgentCommandLine
{
    public string? Node { get; private set; }

    public string? Correlator { get; private set; }

    public string? ConfigFile { get; private set; }

    /// <summary>Interfaces from --iface; when any are given they replace the config file's list.</summary>
    public List<InterfaceOptions> Interfaces { get; } = [];

    /// <summary>--replay NAME=FILE pairs, applied to the interface of that name.</summary>
    public Dictionary<string, string> Replays { get; } = new(StringComparer.Ordinal);

    /// <summary>Arguments left for the generic configuration provider.</summary>
    public List<string> Remaining { get; } = [];

    public static AgentCommandLine Parse(IReadOnlyList<string> args)
    {
        var result = new AgentCommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string flag;
            string? inline = null;
            var eq = arg.IndexOf('=', StringComparison.Ordinal);
            if (arg.StartsWith("--", StringComparison.Ordinal) && eq > 0 && IsOwnFlag(arg[..eq]))
            {
                flag = arg[..eq];
                inline = arg[(eq + 1)..];
            }
            else
            {
                flag = arg;
            }

            if (!IsOwnFlag(flag))
            {
                result.Remaining.Add(arg);
                continue;
            }

            string value;
            if (inline is not null)
            {
                value = inline;
            }
            else if (i + 1 < args.Count && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                value = args[++i];
            }
            else
            {
                throw new AgentConfigException($"{flag} needs a value");
            }

            switch (flag)
            {
                case "--node":
                    result.Node = value;
                    break;
                case "--correlator":
                    result.Correlator = value;
                    break;
                case "--config":
                    result.ConfigFile = value;
                    break;
                case "--iface":
                    result.Interfaces.Add(ParseIface(value));
                    break;
                case "--replay":
                    var (name, file) = ParseReplay(value);
                    result.Replays[name] = file;
                    break;
            }
        }

        return result;
    }

    /// <summary>Applies the flags over options bound from the config file.</summary>
    public void ApplyTo(AgentOptions options)
    {
        if (Node is not null)
        {
            options.Node = Node;
        }

        if (Correlator is not null)
        {
            options.Correlator = Correlator;
        }

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

    private static bool IsOwnFlag(string flag) => flag is "--node" or "--correlator" or "--config" or "--iface" or "--replay";

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
