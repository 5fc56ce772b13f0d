using Spectre.Console;
using Spectre.Console.Rendering;

namespace HopCapture.Cli.Rendering;

/// <summary>One table look for every view; cells are plain <see cref="Text"/> so data is never read as markup.</summary>
internal static class Tables
{
    public static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var header in headers)
        {
            // A leading '>' marks a numeric column: right-aligned so magnitudes line up.
            var column = header.StartsWith('>')
                ? new TableColumn(new Text(header[1..])).RightAligned()
                : new TableColumn(new Text(header));
            table.AddColumn(column.NoWrap());
        }

        return table;
    }

    public static void Row(this Table table, params string[] cells) =>
        table.AddRow(cells.Select(cell => (IRenderable)new Text(cell)).ToArray());

    public static IRenderable Line(string text) => new Text(text);

    public static IRenderable Bold(string text) => new Text(text, new Style(decoration: Decoration.Bold));

    public static IRenderable Blank() => new Text("");

    /// <summary>
    /// <paramref name="body"/>, and under it which rollups answered when the correlator did not
    /// read raw probes (issue 12): "resolution: 1h+1m rollups (percentiles within 1%)".
    /// </summary>
    public static IRenderable WithResolution(IRenderable body, string resolution) =>
        resolution is "" or "raw" ? body : new Rows(body, Line($"resolution: {resolution} rollups (per path and minute/hour; percentiles within 1%)"));
}
