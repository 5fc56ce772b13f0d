namespace HopCapture.Correlator.Hosting;

/// <summary>
/// `hopcapture-correlator [--listen ADDR:PORT] [--db PATH] [--metrics ADDR:PORT] [--config FILE.json] [--Section:Key=VALUE …]`
/// turned into configuration keys. Anything else is refused so a typo never goes unnoticed.
/// </summary>
public sealed class CommandLine
{
    public const string Usage =
        "usage: hopcapture-correlator [--listen ADDR:PORT] [--db PATH] [--metrics ADDR:PORT] [--config FILE.json] [--Correlator:Key=VALUE ...]";

    public Dictionary<string, string?> Settings { get; } = new(StringComparer.OrdinalIgnoreCase);

    public string? ConfigFile { get; private set; }

    public bool Help { get; private set; }

    /// <exception cref="CorrelatorStartupException">A flag is unknown or misses its value.</exception>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = new CommandLine();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (arg is "-h" or "--help" or "-?")
            {
                result.Help = true;
                continue;
            }

            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new CorrelatorStartupException(arg, "unexpected argument; " + Usage);
            }

            var body = arg[2..];
            string name;
            string? value;
            var equals = body.IndexOf('=', StringComparison.Ordinal);
            if (equals >= 0)
            {
                name = body[..equals];
                value = body[(equals + 1)..];
            }
            else
            {
                name = body;
                if (i + 1 >= args.Count)
                {
                    throw new CorrelatorStartupException("--" + name, "needs a value");
                }

                value = args[++i];
            }

            switch (name.ToLowerInvariant())
            {
                case "listen":
                    result.Settings[CorrelatorOptions.SectionName + ":Listen"] = value;
                    break;
                case "db":
                    result.Settings[CorrelatorOptions.SectionName + ":Database"] = value;
                    break;
                case "metrics":
                    result.Settings[Metrics.MetricsOptions.SectionName + ":Listen"] = value;
                    break;
                case "config":
                    result.ConfigFile = value;
                    break;
                default:
                    if (!name.Contains(':', StringComparison.Ordinal))
                    {
                        throw new CorrelatorStartupException("--" + name, "unknown option; " + Usage);
                    }

                    result.Settings[name] = value;
                    break;
            }
        }

        return result;
    }
}
