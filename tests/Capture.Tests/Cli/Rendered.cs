using HopCapture.Cli.Rendering;
using Spectre.Console.Rendering;

namespace HopCapture.Tests.Cli;

/// <summary>Renders a view the way `capture` does into a pipe: plain text, no colours.</summary>
internal static class Rendered
{
    public static string Text(IRenderable renderable)
    {
        using var writer = new StringWriter();
        Consoles.Create(writer, terminal: false).Write(renderable);
        return writer.ToString();
    }

    public static string[] Lines(IRenderable renderable) =>
        Text(renderable).Split('\n').Select(line => line.TrimEnd()).Where(line => line.Length > 0).ToArray();

    /// <summary>Expected cells of a row, spelled inline.</summary>
    public static string[] Row(params string[] cells) => cells;

    /// <summary>The cells of a table row: columns are separated by two or more spaces.</summary>
    public static string[] Cells(string line) =>
        System.Text.RegularExpressions.Regex.Split(line.Trim(), @"\s{2,}");
}
