namespace HopCapture.Hosting.CommandLine;

/// <summary>
/// One flag of a host program, declared once with the configuration key it sets; the parser, the
/// help text and the program's binding all read this declaration.
/// </summary>
public sealed class HostFlag
{
    /// <param name="name">The flag, e.g. <c>--node</c>.</param>
    /// <param name="valueName">Placeholder for its value in the help, e.g. <c>NAME</c>.</param>
    /// <param name="key">The configuration key it sets, e.g. <c>Agent:Node</c>.</param>
    /// <param name="description">One line for the help.</param>
    /// <param name="repeatable">
    /// The flag may be given many times and the program interprets the values itself (a list
    /// that replaces the config file's, rather than merging with it index by index). A flag that
    /// is not repeatable sets <paramref name="key"/>; given twice, the last one wins.
    /// </param>
    public HostFlag(string name, string valueName, string key, string description, bool repeatable = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentException.ThrowIfNullOrWhiteSpace(valueName);
        ArgumentException.ThrowIfNullOrWhiteSpace(key);
        ArgumentException.ThrowIfNullOrWhiteSpace(description);
        if (!name.StartsWith("--", StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal) || name.Contains('=', StringComparison.Ordinal))
        {
            throw new ArgumentException($"a flag is --name without ':' or '=' (those mark configuration keys), got '{name}'", nameof(name));
        }

        Name = name;
        ValueName = valueName;
        Key = key;
        Description = description;
        Repeatable = repeatable;
    }

    public string Name { get; }

    public string ValueName { get; }

    public string Key { get; }

    public string Description { get; }

    public bool Repeatable { get; }

    public override string ToString() => $"{Name} {ValueName}";
}
