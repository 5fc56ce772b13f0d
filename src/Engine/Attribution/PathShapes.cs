namespace HopCapture.Engine.Attribution;

/// <summary>A point of a learned path and where it sits on it.</summary>
internal readonly record struct ShapePoint(int PointId, int Coordinate);

/// <summary>
/// The points answered probes of each path crossed, in path order. Lost probes have no round
/// trip to order by, so they borrow the order (and the next point after the last one that saw
/// them) from the answered probes of the same path.
/// </summary>
internal sealed class PathShapes
{
    private const int MaxPaths = 65_536;
    private readonly Dictionary<(UInt128 Src, UInt128 Dst), ShapePoint[]> _shapes = [];

    public void Learn(UInt128 src, UInt128 dst, ReadOnlySpan<ShapePoint> shape)
    {
        // Keep the fullest view: one agent restarting must not shrink what we know of a path.
        // Most probes of a path show the shape already known: then nothing is allocated.
        if (_shapes.TryGetValue((src, dst), out var known) && (known.Length > shape.Length || shape.SequenceEqual(known)))
        {
            return;
        }

        if (_shapes.Count >= MaxPaths && known is null)
        {
            _shapes.Clear();
        }

        _shapes[(src, dst)] = shape.ToArray();
    }

    public ShapePoint[]? Get(UInt128 src, UInt128 dst) => _shapes.GetValueOrDefault((src, dst));
}
