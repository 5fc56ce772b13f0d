namespace HopCapture.Hosting.CommandLine;

/// <summary>A parsed host command line: configuration keys to layer last, the config file, repeatable values.</summary>
public sealed class HostArguments
{
    private readonly Dictionary<string, string?> _settings = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<HostFlag, List<string>> _values = [];

    /// <summary>--help or -h was given: print the help and exit 0.</summary>
    public bool Help { get; internal set; }

    /// <summary>--version was given: print the version and exit 0.</summary>
    public bool Version { get; internal set; }

    /// <summary>--config FILE.json, read before the command line (which overrides it).</summary>
    public string? ConfigFile { get; internal set; }

    /// <summary>
    /// Keys set by the (non-repeatable) flags and the --Section:Key overrides, in command-line
    /// order so the last mention of a key wins. Meant as the last configuration source.
    /// </summary>
    public IReadOnlyDictionary<string, string?> Settings => _settings;

    /// <summary>Every value given to <paramref name="flag"/>, in order; empty when it was not given.</summary>
    public IReadOnlyList<string> Values(HostFlag flag) => _values.TryGetValue(flag, out var values) ? values : [];

    internal void Set(string key, string value) => _settings[key] = value;

    internal void Add(HostFlag flag, string value)
    {
        if (!_values.TryGetValue(flag, out var values))
        {
            values = [];
            _values.Add(flag, values);
        }

        values.Add(value);
    }
}
