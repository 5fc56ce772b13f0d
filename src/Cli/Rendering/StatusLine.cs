namespace HopCapture.Cli.Rendering;

/// <summary>
/// A transient line on stderr, redrawn in place ("\r") and blanked when done: status while the
/// real output goes elsewhere. Callers use it only when stderr is a terminal; in a pipe or a log
/// it would be noise.
/// </summary>
public sealed class StatusLine(TextWriter error)
{
    private readonly Lock _gate = new();
    private int _shownLength;

    public void Show(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        lock (_gate)
        {
            error.Write("\r" + text.PadRight(_shownLength));
            error.Flush();
            _shownLength = Math.Max(_shownLength, text.Length);
        }
    }

    public void Clear()
    {
        lock (_gate)
        {
            if (_shownLength > 0)
            {
                error.Write("\r" + new string(' ', _shownLength) + "\r");
                error.Flush();
                _shownLength = 0;
            }
        }
    }
}
