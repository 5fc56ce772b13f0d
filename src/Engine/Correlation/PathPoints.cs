using HopCapture.Engine.Model;

namespace HopCapture.Engine.Correlation;

/// <summary>
/// The points that have ever observed a path's probes (late observations included), and which
/// halves of the echo each has seen: requests, replies or both.
/// </summary>
internal sealed class PointSet
{
    private const byte Request = 1;
    private const byte Reply = 2;
    private int[] _points = new int[8];
    private byte[] _halves = new byte[8];

    private int _count;

    /// <summary>(Point, request or reply) pairs seen: what a probe that has them all can gain no more of.</summary>
    public int Halves { get; private set; }

    /// <summary>Arrival time the last new point was seen at.</summary>
    public long GrewAtNs { get; private set; }

    public void Add(int pointId, EchoType type, long arrivalNs)
    {
        var half = type == EchoType.Request ? Request : Reply;
        for (var i = 0; i < _count; i++)
        {
            if (_points[i] == pointId)
            {
                if ((_halves[i] & half) == 0)
                {
                    // Learned for later probes; only a new point makes the path untrusted again.
                    _halves[i] |= half;
                    Halves++;
                }

                return;
            }
        }

        if (_count == _points.Length)
        {
            Array.Resize(ref _points, _count * 2);
            Array.Resize(ref _halves, _count * 2);
        }

        _points[_count] = pointId;
        _halves[_count++] = half;
        Halves++;
        GrewAtNs = arrivalNs;
    }
}

/// <summary>
/// Which points each path (request src → dst) is seen at, and which halves of the echo at each.
/// A complete probe that already has all of them cannot gain another, so it need not wait out the
/// settle time; one that lacks a point seen before, or a half a point has seen before, waits for
/// it. Counting points alone let a probe finalise when a node's reply had come in and its request
/// not yet (an agent captures each direction on its own handle and uploads them independently):
/// stored with that node's request missing, one echo in a few hundred under a flood in the lab.
/// Built from observations, late ones included, so an agent lagging behind still counts; and
/// trusted only once it has stopped growing for a probe timeout, since while agents are still
/// joining nobody knows how many points a path has.
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
