using System.CommandLine;
using System.CommandLine.Parsing;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace HopCapture.Hosting.CommandLine;

/// <summary>
/// The command line of a host program (agent, correlator): its declared <see cref="HostFlag"/>s,
/// <c>--config FILE.json</c>, and <c>--Section:Key=VALUE</c> / <c>--Section:Key VALUE</c>
/// overrides for the program's own section and <c>Logging</c>. Everything else is an error
/// naming the argument, so a typo never starts a host that silently ignores it.
/// </summary>
/// <remarks>
/// Tokenizing is System.CommandLine's, as in the <c>capture</c> CLI: <c>--x v</c>, <c>--x=v</c>,
/// <c>--x:v</c>, repeated flags and unknown-token detection come from one tested parser. The
/// configuration binder's switch mappings were the alternative, but they pass unmapped
/// arguments through as keys (the agent's old bug), keep only the last of a repeated switch
/// (<c>--iface</c>) and have no help. System.CommandLine's own help and errors are not used:
/// the help shows the configuration key each flag sets, and errors keep the programs'
/// one-line form.
/// </remarks>
public sealed class HostCommandLine
{
    /// <summary>Exit code for a bad command line (systemd units do not restart on it).</summary>
    public const int ExitUsage = 2;

    /// <summary>Sections every host reads besides its own.</summary>
    private static readonly string[] SharedSections = ["Logging"];

    private static readonly ParserConfiguration Parser = new()
    {
        // "@file" is an argument like any other here, not a response file to expand.
        ResponseFileTokenReplacer = null,
    };

    private readonly Command _command;
    private readonly Option<bool> _help = new("--help", "-h", "-?") { Arity = ArgumentArity.Zero };
    private readonly Option<bool> _version = new("--version") { Arity = ArgumentArity.Zero };
    private readonly Option<string[]> _config;
    private readonly Dictionary<Option, HostFlag?> _flagsByOption = [];
    private readonly Dictionary<string, Option> _optionsByName = new(StringComparer.Ordinal);
    private readonly string[] _sections;

    /// <param name="program">The executable's name (with a subcommand's, e.g. <c>hopcapture-agent discover</c>), used in the usage line and errors.</param>
    /// <param name="section">The configuration section the program owns, e.g. <c>Agent</c>.</param>
    /// <param name="flags">Every flag with the key it sets.</param>
    /// <param name="assembly">The program's assembly; its informational version is what --version prints.</param>
    public HostCommandLine(string program, string section, IEnumerable<HostFlag> flags, Assembly assembly)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(program);
        ArgumentException.ThrowIfNullOrWhiteSpace(section);
        ArgumentNullException.ThrowIfNull(flags);
        ArgumentNullException.ThrowIfNull(assembly);
        Program = program;
        Section = section;
        Flags = [.. flags];
        _sections = [section, .. SharedSections];
        Version = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
            ?? assembly.GetName().Version?.ToString()
            ?? "unknown";

        // A subcommand's program is "tool sub"; System.CommandLine names have no spaces.
        _command = new Command(program.Replace(' ', '-')) { TreatUnmatchedTokensAsErrors = false };
        _command.Options.Add(_help);
        _command.Options.Add(_version);
        _config = NewOption("--config");
        Add(_config, null);
        foreach (var flag in Flags)
        {
            if (flag.Name is "--config" or "--help" or "--version" || Flags.Count(f => f.Name == flag.Name) > 1)
            {
                throw new ArgumentException($"flag {flag.Name} is declared twice or clashes with a built-in one", nameof(flags));
            }

            Add(NewOption(flag.Name), flag);
        }
    }

    public string Program { get; }

    public string Section { get; }

    public IReadOnlyList<HostFlag> Flags { get; }

    /// <summary>The program's informational version, e.g. <c>0.1.0+1a2b3c4</c>.</summary>
    public string Version { get; }

    /// <summary>A paragraph under the usage line: what the program does.</summary>
    public string? Summary { get; init; }

    /// <summary>Lines after the flag table: examples, exit codes.</summary>
    public string? Epilog { get; init; }

    /// <exception cref="CommandLineException">An unknown flag, a missing value, a stray argument or a key outside the program's sections.</exception>
    public HostArguments Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = _command.Parse(args, Parser);
        var arguments = new HostArguments
        {
            Help = result.GetResult(_help) is { Implicit: false },
            Version = result.GetResult(_version) is { Implicit: false },
        };
        if (arguments.Help || arguments.Version)
        {
            return arguments;
        }

        // Which option consumed each value token: by reference, since tokens compare by text.
        var owners = new Dictionary<Token, Option>(ReferenceEqualityComparer.Instance);
        foreach (var option in _flagsByOption.Keys)
        {
            foreach (var token in result.GetResult(option)?.Tokens ?? [])
            {
                owners[token] = option;
            }
        }

        var tokens = result.Tokens;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.Type == TokenType.Option && _optionsByName.TryGetValue(token.Value, out var option))
            {
                var flag = _flagsByOption[option];
                var name = flag?.Name ?? _config.Name;
                var value = i + 1 < tokens.Count && owners.TryGetValue(tokens[i + 1], out var owner) && owner == option
                    ? tokens[++i].Value
                    : null;
                if (value is null || value.StartsWith("--", StringComparison.Ordinal))
                {
                    throw NeedsValue(name);
                }

                if (flag is null)
                {
                    arguments.ConfigFile = value;
                }
                else if (flag.Repeatable)
                {
                    arguments.Add(flag, value);
                }
                else
                {
                    arguments.Set(flag.Key, value);
                }
            }
            else if (token.Type == TokenType.Argument && !owners.ContainsKey(token))
            {
                i = Override(tokens, i, owners, arguments);
            }
            else if (token.Type != TokenType.Option)
            {
                // A [directive]: System.CommandLine's syntax, meaningless to a host.
                throw new CommandLineException($"unexpected argument '{token.Value}'");
            }
        }

        if (result.Errors.Count > 0)
        {
            throw new CommandLineException(result.Errors[0].Message.ReplaceLineEndings(" ").Trim().TrimEnd('.'));
        }

        return arguments;
    }

    /// <summary>
    /// Parses <paramref name="args"/> as a program's Main does: prints the help or the version to
    /// <paramref name="stdout"/> (exit 0), or one error line to <paramref name="stderr"/> (exit 2).
    /// </summary>
    /// <returns>True when the program should go on with <paramref name="arguments"/>; otherwise exit with <paramref name="exitCode"/>.</returns>
    public bool TryParse(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr, [NotNullWhen(true)] out HostArguments? arguments, out int exitCode)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        arguments = null;
        exitCode = 0;
        HostArguments parsed;
        try
        {
            parsed = Parse(args);
        }
        catch (CommandLineException ex)
        {
            stderr.WriteLine(ErrorLine(ex.Message));
            exitCode = ExitUsage;
            return false;
        }

        if (parsed.Help)
        {
            WriteHelp(stdout);
            return false;
        }

        if (parsed.Version)
        {
            stdout.WriteLine(Version);
            return false;
        }

        arguments = parsed;
        return true;
    }

    /// <summary>The one line printed for a bad command line, e.g. <c>hopcapture-agent: unknown option '--x' (see --help)</c>.</summary>
    public string ErrorLine(string problem) => $"{Program}: {problem} (see --help)";

    /// <summary>Usage, every flag with the configuration key it sets and one line on it, then the epilog.</summary>
    public void WriteHelp(TextWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        var rows = new List<(string Flag, string Key, string Description)>();
        rows.AddRange(Flags.Select(f => (f.ToString(), f.Key, f.Description + (f.Repeatable ? " (repeatable)" : ""))));
        rows.Add(("--config FILE.json", Section + ":*", $"JSON file with a \"{Section}\" section, read first: flags override it"));
        rows.Add(($"--{Section}:KEY VALUE", $"{Section}:KEY", $"any {Section} setting, also as --{Section}:KEY=VALUE"));
        rows.Add(("--Logging:KEY VALUE", "Logging:KEY", "log levels, e.g. --Logging:LogLevel:Default=Warning"));
        rows.Add(("-h, --help", "", "print this help and exit"));
        rows.Add(("--version", "", "print the version and exit"));

        writer.WriteLine($"usage: {Program} [--FLAG VALUE | --FLAG=VALUE]...");
        if (Summary is not null)
        {
            writer.WriteLine();
            writer.WriteLine(Summary);
        }

        var flagWidth = rows.Max(r => r.Flag.Length) + 2;
        var keyWidth = Math.Max(rows.Max(r => r.Key.Length), "configuration key".Length) + 2;
        writer.WriteLine();
        writer.WriteLine("  " + "flag".PadRight(flagWidth) + "configuration key".PadRight(keyWidth) + "meaning");
        foreach (var (flag, key, description) in rows)
        {
            writer.WriteLine("  " + flag.PadRight(flagWidth) + key.PadRight(keyWidth) + description);
        }

        if (Epilog is not null)
        {
            writer.WriteLine();
            writer.WriteLine(Epilog);
        }
    }

    private void Add(Option<string[]> option, HostFlag? flag)
    {
        _flagsByOption.Add(option, flag);
        _optionsByName.Add(option.Name, option);
        _command.Options.Add(option);
    }

    private static Option<string[]> NewOption(string name) => new(name)
    {
        // One value per occurrence: "--iface a b" leaves "b" unmatched, so it is reported.
        Arity = ArgumentArity.OneOrMore,
        AllowMultipleArgumentsPerToken = false,
    };

    private static CommandLineException NeedsValue(string name) => new($"{name} needs a value");

    /// <summary>Handles the unmatched argument at <paramref name="index"/>; returns the index of the last token it used.</summary>
    private int Override(IReadOnlyList<Token> tokens, int index, Dictionary<Token, Option> owners, HostArguments arguments)
    {
        var text = tokens[index].Value;
        if (!text.StartsWith('-'))
        {
            throw new CommandLineException($"unexpected argument '{text}'");
        }

        var equals = text.IndexOf('=', StringComparison.Ordinal);
        var name = equals < 0 ? text : text[..equals];
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        if (!name.StartsWith("--", StringComparison.Ordinal) || colon < 0)
        {
            throw new CommandLineException($"unknown option '{name}'");
        }

        var key = name[2..];
        var section = key[..(colon - 2)];
        if (!_sections.Contains(section, StringComparer.OrdinalIgnoreCase))
        {
            throw new CommandLineException($"unknown option '{name}': no section '{section}' (use {string.Join(" or ", _sections)})");
        }

        if (key.Length == section.Length + 1)
        {
            throw new CommandLineException($"{name} names no key: use --{section}:KEY=VALUE");
        }

        string value;
        if (equals >= 0)
        {
            value = text[(equals + 1)..];
        }
        else if (index + 1 < tokens.Count && tokens[index + 1] is { Type: TokenType.Argument } next && !owners.ContainsKey(next)
                 && !next.Value.StartsWith("--", StringComparison.Ordinal))
        {
            value = next.Value;
            index++;
        }
        else
        {
            throw NeedsValue(name);
        }

        arguments.Set(key, value);
        return index;
    }
}
