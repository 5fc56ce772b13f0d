namespace HopCapture.Cli;

/// <summary>
/// Everything a run of <c>capture</c> takes from its surroundings, so tests can run the whole
/// CLI in-process with captured output, a chosen environment and a fixed clock.
/// </summary>
public sealed class CliContext
{
    public CliContext(TextWriter stdout, TextWriter stderr)
    {
        Out = stdout;
        Error = stderr;
    }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    public TimeProvider Time { get; init; } = TimeProvider.System;

    public Func<string, string?> Environment { get; init; } = System.Environment.GetEnvironmentVariable;

    /// <summary>stdout is a terminal: colours and the terminal's width for tables.</summary>
    public bool OutIsTerminal { get; init; }

    /// <summary>stderr is a terminal: transient status lines are allowed there.</summary>
    public bool ErrorIsTerminal { get; init; }

    /// <summary>Deadline of each unary call to the correlator.</summary>
    public TimeSpan CallTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>The context of the real process: console streams and their terminal-ness.</summary>
    public static CliContext ForConsole() => new(Console.Out, Console.Error)
    {
        OutIsTerminal = !Console.IsOutputRedirected,
        ErrorIsTerminal = !Console.IsErrorRedirected,
    };
}
