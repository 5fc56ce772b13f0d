using Spectre.Console;

namespace HopCapture.Cli.Rendering;

/// <summary>Spectre consoles over any <see cref="TextWriter"/>, so views render the same in tests.</summary>
public static class Consoles
{
    /// <summary>Width used when nobody's terminal limits it: wide tables must not wrap in files and pipes.</summary>
    public const int RedirectedWidth = 240;

    /// <param name="writer">Where the text goes.</param>
    /// <param name="terminal">True only for a real terminal: enables colours and its width.</param>
    public static IAnsiConsole Create(TextWriter writer, bool terminal)
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(writer),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!terminal)
        {
            console.Profile.Width = RedirectedWidth;
        }

        return console;
    }
}
