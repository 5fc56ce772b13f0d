using System.Globalization;
using HopCapture.Protos;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// How far a long export (<c>capture probes --all</c>) has got, on stderr when it is a terminal:
/// probes so far, the arrival time the newest-first export has reached back to and, with a
/// window start, the share of the window done; and one summary line at the end when the rows
/// went to a file or a pipe, where nothing else would say it finished.
/// </summary>
public sealed class ExportProgress
{
    /// <summary>Exports shorter than this show no progress line: it would only flicker.</summary>
    private static readonly TimeSpan Quiet = TimeSpan.FromSeconds(1);

    private static readonly TimeSpan Every = TimeSpan.FromMilliseconds(250);

    private readonly CliContext _context;
    private readonly StatusLine _line;
    private readonly long _sinceNs;
    private readonly long _started;
    private TimeSpan _shownAt = TimeSpan.MinValue;
    private long _topNs;
    private long _reachedNs;

    public ExportProgress(CliContext context, long sinceNs)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _line = new StatusLine(context.Error);
        _sinceNs = sinceNs;
        _started = context.Time.GetTimestamp();
    }

    /// <summary>Probes received so far.</summary>
    public long Probes { get; private set; }

    /// <summary>Call before rows go to stdout: on the same terminal the status line must not sit among them.</summary>
    public void BeforeRows()
    {
        if (_context.OutIsTerminal)
        {
            _line.Clear();
        }
    }

    public void Add(IReadOnlyList<ProbeRecord> probes)
    {
        ArgumentNullException.ThrowIfNull(probes);
        if (probes.Count == 0)
        {
            return;
        }

        _topNs = _topNs == 0 ? probes[0].ArrivalNs : _topNs;
        _reachedNs = probes[^1].ArrivalNs;
        Probes += probes.Count;
        var elapsed = _context.Time.GetElapsedTime(_started);
        if (_context.ErrorIsTerminal && elapsed >= Quiet && elapsed - _shownAt >= Every)
        {
            _shownAt = elapsed;
            _line.Show(Text(elapsed));
        }
    }

    /// <summary>Takes the status line away; after a complete export to a file or pipe, says so.</summary>
    public void Finish(bool completed)
    {
        _line.Clear();
        if (completed && _context.ErrorIsTerminal && !_context.OutIsTerminal)
        {
            var seconds = _context.Time.GetElapsedTime(_started).TotalSeconds;
            _context.Error.WriteLine($"capture: exported {Formats.Count((ulong)Probes)} probes in {seconds.ToString("0.0", CultureInfo.InvariantCulture)} s");
        }
    }

    private string Text(TimeSpan elapsed)
    {
        var reached = DateTimeOffset.FromUnixTimeMilliseconds(_reachedNs / 1_000_000).ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
        var share = _sinceNs > 0 && _topNs > _sinceNs
            ? $" ({Formats.Percent(Math.Clamp((double)(_topNs - _reachedNs) / (_topNs - _sinceNs), 0, 1))} of the window)"
            : "";
        var rate = Formats.Count((ulong)(Probes / Math.Max(elapsed.TotalSeconds, 0.001)));
        return $"exporting: {Formats.Count((ulong)Probes)} probes, back to {reached} UTC{share}, {rate}/s (Ctrl-C stops)";
    }
}
