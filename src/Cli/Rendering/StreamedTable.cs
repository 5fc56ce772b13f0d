using System.Text;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// A table printed as its rows arrive (<c>capture probes --all</c>): a table renderer needs every
/// row to size its columns, which an export of millions cannot give. Columns are sized by the
/// first batch and widened when a later row needs it; the look is the bounded tables' (two
/// spaces in, three between, a leading '>' in a header right-aligns its column).
/// </summary>
public sealed class StreamedTable(TextWriter writer, IReadOnlyList<string> headers)
{
    private readonly int[] _widths = headers.Select(static h => Name(h).Length).ToArray();
    private bool _headerWritten;

    /// <summary>Rows written so far.</summary>
    public long Rows { get; private set; }

    /// <summary>Writes <paramref name="rows"/> (after the header, the first time) in one go.</summary>
    public void Write(IReadOnlyCollection<string[]> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Count == 0)
        {
            return;
        }

        foreach (var row in rows)
        {
            for (var i = 0; i < _widths.Length; i++)
            {
                _widths[i] = Math.Max(_widths[i], row[i].Length);
            }
        }

        var text = new StringBuilder();
        if (!_headerWritten)
        {
            Line(text, headers.Select(Name).ToArray());
            _headerWritten = true;
        }

        foreach (var row in rows)
        {
            Line(text, row);
        }

        writer.Write(text.ToString());
        writer.Flush();
        Rows += rows.Count;
    }

    private static string Name(string header) => header.TrimStart('>');

    private void Line(StringBuilder text, string[] cells)
    {
        var line = new StringBuilder("  ");
        for (var i = 0; i < cells.Length; i++)
        {
            var last = i == cells.Length - 1;
            line.Append(headers[i].StartsWith('>') ? cells[i].PadLeft(_widths[i]) : last ? cells[i] : cells[i].PadRight(_widths[i]));
            if (!last)
            {
                line.Append("   ");
            }
        }

        text.Append(line.ToString().TrimEnd()).Append('\n');
    }
}
