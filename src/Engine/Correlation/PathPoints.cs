namespace HopCapture.Engine.Correlation;

/// <summary>The points that have ever observed a path's probes (late observations included).</summary>
internal sealed class PointSet
{
    private int[] _points = new int[8];

    public int Count { get; private set; }

    /// <summary>Arrival time the last new point was seen at.</summary>
    public long GrewAtNs { get; private set; }

    public void Add(int pointId, long arrivalNs)
    {
        for (var i = 0; i < Count; i++)
        {
            if (_points[i] == pointId)
            {
                return;
            }
        }

        if (Count == _points.Length)
        {
            Array.Resize(ref _points, Count * 2);
        }

        _points[Count++] = pointId;
        GrewAtNs = arrivalNs;
    }
}

/// <summary>
/// Which points each path (request src → dst) is seen at. A complete probe that already has all
/// of them cannot gain another, so it need not wait out the settle time; one that lacks a point
/// seen before waits for it. Built from observations, late ones included, so an agent lagging
/// behind still counts; and trusted only once it has stopped growing for a probe timeout, since
/// while agents are still joining nobody knows how many points a path has.
/// </summary>
internal sealed class PathPoints
{
    private const int MaxPaths = 65_536;
    private readonly Dictionary<(UInt128 Src, UInt128 Dst), PointSet> _paths = [];

    public PointSet For(in ProbeKey key)
    {
        if (!_paths.TryGetValue((key.Src, key.Dst), out var set))
        {
            if (_paths.Count >= MaxPaths)
            {
                // Forgetting only costs latency: probes settle until their points are seen again.
                _paths.Clear();
            }

            set = new PointSet();
            _paths.Add((key.Src, key.Dst), set);
        }

        return set;
    }
}
