using HopCapture.Correlator.Selection;

namespace HopCapture.Correlator.Metrics;

/// <summary>
/// Decides which paths get per-path series, free of I/O and of the clock. A path selected by
/// config keeps its series (up to SelectedPathLimit); the others compete for TopPaths slots by
/// traffic: free slots go to new paths at once (a small mesh sees every path), and each
/// <see cref="Rerank"/> gives the slots to the busiest paths since the last ranking (counts halve
/// at each ranking, so old traffic fades) and evicts the rest. Everything else is folded: counted
/// only in the node-pair series. Traffic is counted for at most <see cref="MaxCandidates"/> paths.
/// </summary>
public sealed class PathSeriesBudget
{
    /// <summary>Paths whose traffic is counted for ranking; beyond it new paths stay folded until a ranking frees room.</summary>
    public const int MaxCandidates = 100_000;

    private readonly List<(Glob Src, Glob Dst)> _selectors;
    private readonly int _selectedLimit;
    private readonly int _top;
    private readonly HashSet<(string, string)> _selected = [];
    private readonly HashSet<(string, string)> _topPaths = [];
    private readonly Dictionary<(string, string), long> _traffic = [];

    public PathSeriesBudget(MetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _selectors = [.. options.Paths.Select(p => (new Glob(p.Src), new Glob(p.Dst)))];
        _selectedLimit = options.SelectedPathLimit;
        _top = options.TopPaths;
    }

    public int SelectedLimit => _selectedLimit;

    public int TopLimit => _top;

    public int Selected => _selected.Count;

    public int Top => _topPaths.Count;

    /// <summary>Paths seen since the last ranking that have no series of their own.</summary>
    public int Folded => _traffic.Keys.Count(k => !_topPaths.Contains(k) && !_selected.Contains(k));

    /// <summary>Counts one probe of the path; true when the path has (or just got) per-path series.</summary>
    public bool Track(string src, string dst)
    {
        var key = (src, dst);
        if (_selected.Contains(key))
        {
            return true;
        }

        if (_selected.Count < _selectedLimit && _selectors.Exists(s => s.Src.IsMatch(src) && s.Dst.IsMatch(dst)))
        {
            _selected.Add(key);
            return true;
        }

        if (_traffic.TryGetValue(key, out var count))
        {
            _traffic[key] = count + 1;
        }
        else if (_traffic.Count < MaxCandidates)
        {
            _traffic[key] = 1;
        }

        if (_topPaths.Contains(key))
        {
            return true;
        }

        if (_topPaths.Count < _top)
        {
            _topPaths.Add(key);
            return true;
        }

        return false;
    }

    /// <summary>Gives the top slots to the busiest paths; returns the paths that lost theirs (their series go).</summary>
    public IReadOnlyList<(string Src, string Dst)> Rerank()
    {
        var busiest = _traffic.OrderByDescending(t => t.Value).ThenBy(t => t.Key).Take(_top).Select(t => t.Key).ToHashSet();
        var evicted = _topPaths.Where(p => !busiest.Contains(p)).ToList();
        _topPaths.Clear();
        _topPaths.UnionWith(busiest);
        foreach (var (key, count) in _traffic.ToList())
        {
            if (count / 2 == 0)
            {
                _traffic.Remove(key);
            }
            else
            {
                _traffic[key] = count / 2;
            }
        }

        return evicted;
    }
}
