using HopCapture.Engine.Correlation;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;

namespace HopCapture.Engine.Attribution;

/// <summary>
/// Turns the points of one probe into an ordered path and an attribution:
/// order by decreasing single-clock round trip, cost each segment as the difference of
/// consecutive round trips, name each segment from its endpoints' places on the path.
/// </summary>
internal sealed class ProbeFinalizer(InterfaceCatalog catalog, PathShapes shapes, ClockOffsets offsets, long noiseFloorNs)
{
    private struct Item
    {
        public PointView View;
        public PointEntry Point;
        public int Level;
        public bool? SenderSide;
        public int Coordinate;
    }

    public ProbeResult Finalize(ProbeState state)
    {
        var items = Describe(state.Points);
        ResolveSides(items);
        var shape = shapes.Get(state.Key.Src, state.Key.Dst);
        for (var i = 0; i < items.Length; i++)
        {
            ref var item = ref items[i];
            item.Coordinate = item.SenderSide is { } side
                ? PathCoordinates.Coordinate(item.Level, side)
                : ShapeCoordinate(shape, item.View.PointId);
        }

        var ordered = Order(items);
        var (segments, verdict) = Attribute(ordered);
        var firstRoundTrip = Array.FindIndex(ordered, static i => i.View.HasRoundTrip);
        var (outcome, lostIn, lostAfter) = Localise(ordered, firstRoundTrip, shape);

        if (outcome == ProbeOutcome.Answered && ordered.Length > 1)
        {
            var learned = new List<ShapePoint>(ordered.Length);
            foreach (var item in ordered)
            {
                if (item.View.HasRoundTrip && item.Coordinate != PathCoordinates.Unknown)
                {
                    learned.Add(new ShapePoint(item.View.PointId, item.Coordinate));
                }
            }

            shapes.Learn(state.Key.Src, state.Key.Dst, [.. learned]);
        }

        var first = ordered.Length > 0 ? ordered[0].View : default;
        return new ProbeResult
        {
            Key = state.Key,
            Points = Array.ConvertAll(ordered, static i => i.View),
            Segments = segments,
            VerdictSegment = verdict,
            Outcome = outcome,
            LostIn = lostIn,
            LostAfter = lostAfter,
            FirstTimestampNs = first.HasRequest ? first.RequestNs : first.ReplyNs,
            RoundTripNs = firstRoundTrip >= 0 ? ordered[firstRoundTrip].View.RoundTripNs : 0,
            Duplicates = state.Duplicates,
        };
    }

    private Item[] Describe(ReadOnlySpan<PointSlot> slots)
    {
        var items = new Item[slots.Length];
        for (var i = 0; i < slots.Length; i++)
        {
            var slot = slots[i];
            var point = catalog.Point(slot.PointId);
            var requestDirection = PathCoordinates.RequestDirection(slot.HasRequest, slot.RequestDirection, slot.HasReply, slot.ReplyDirection);
            items[i] = new Item
            {
                View = new PointView(slot.PointId, slot.RequestIface, slot.ReplyIface, slot.RequestNs, slot.ReplyNs,
                    slot.RequestDirection, slot.ReplyDirection, slot.HasRequest, slot.HasReply),
                Point = point,
                Level = PathCoordinates.Level(point.Role),
                SenderSide = PathCoordinates.SenderSide(point.Role, requestDirection),
            };
        }

        return items;
    }

    /// <summary>
    /// Fills in the side of points whose role and direction did not tell it: first from another
    /// point on the same node, then from the round-trip order itself.
    /// </summary>
    private static void ResolveSides(Item[] items)
    {
        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].SenderSide is not null || items[i].Level == PathCoordinates.Unknown)
            {
                continue;
            }

            foreach (var other in items)
            {
                if (other.SenderSide is { } side && other.Point.Node == items[i].Point.Node)
                {
                    items[i].SenderSide = side;
                    break;
                }
            }
        }

        if (Array.TrueForAll(items, static i => i.SenderSide is not null || i.Level == PathCoordinates.Unknown))
        {
            return;
        }

        // Along the path the level climbs guest → vif → bridge → NIC on the sender's side and
        // falls on the responder's; the side changes where the level falls, or where it stays
        // level between two nodes (NIC to NIC across the fabric).
        var byRoundTrip = items.Where(static i => i.View.HasRoundTrip && i.Level != PathCoordinates.Unknown)
            .OrderByDescending(static i => i.View.RoundTripNs).ToArray();
        var crossed = false;
        var sides = new Dictionary<int, bool>();
        for (var k = 0; k < byRoundTrip.Length; k++)
        {
            if (k > 0)
            {
                var previous = byRoundTrip[k - 1];
                var current = byRoundTrip[k];
                crossed |= current.SenderSide == false
                    || current.Level < previous.Level
                    || (current.Level == previous.Level && current.Point.Node != previous.Point.Node);
            }

            sides[byRoundTrip[k].View.PointId] = byRoundTrip[k].SenderSide ?? !crossed;
        }

        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].SenderSide is null && sides.TryGetValue(items[i].View.PointId, out var side))
            {
                items[i].SenderSide = side;
            }
        }
    }

    private static int ShapeCoordinate(ShapePoint[]? shape, int pointId)
    {
        if (shape is not null)
        {
            foreach (var point in shape)
            {
                if (point.PointId == pointId)
                {
                    return point.Coordinate;
                }
            }
        }

        return PathCoordinates.Unknown;
    }

    /// <summary>
    /// Points with a round trip in decreasing order of it (no clocks compared); the others
    /// slotted in by their place on the path, or at the end when that is unknown.
    /// </summary>
    private static Item[] Order(Item[] items)
    {
        var withRoundTrip = items.Where(static i => i.View.HasRoundTrip)
            .OrderByDescending(static i => i.View.RoundTripNs)
            .ThenBy(static i => CoordinateOrder(i.Coordinate))
            .ToList();
        var others = items.Where(static i => !i.View.HasRoundTrip)
            .OrderBy(static i => CoordinateOrder(i.Coordinate))
            .ThenBy(static i => i.View.HasRequest ? i.View.RequestNs : i.View.ReplyNs);

        foreach (var item in others)
        {
            var at = withRoundTrip.Count;
            if (item.Coordinate != PathCoordinates.Unknown)
            {
                var before = withRoundTrip.FindIndex(o => o.Coordinate != PathCoordinates.Unknown && o.Coordinate > item.Coordinate);
                at = before >= 0 ? before : at;
            }

            withRoundTrip.Insert(at, item);
        }

        return [.. withRoundTrip];
    }

    private static int CoordinateOrder(int coordinate) => coordinate == PathCoordinates.Unknown ? int.MaxValue : coordinate;

    private (SegmentView[] Segments, int Verdict) Attribute(Item[] ordered)
    {
        var segments = new List<SegmentView>(ordered.Length);
        var previous = -1;
        for (var i = 0; i < ordered.Length; i++)
        {
            if (!ordered[i].View.HasRoundTrip)
            {
                continue;
            }

            if (previous >= 0)
            {
                var cost = ordered[previous].View.RoundTripNs - ordered[i].View.RoundTripNs;
                segments.Add(new SegmentView(previous, i, Kind(ordered[previous], ordered[i]), cost, cost < noiseFloorNs)
                {
                    Split = Split(ordered[previous], ordered[i]),
                });
            }

            previous = i;
        }

        if (previous < 0)
        {
            return ([], -1);
        }

        var remote = ordered[previous].View.RoundTripNs;
        segments.Add(new SegmentView(previous, -1, PathCoordinates.RemoteKind(ordered[previous].Coordinate), remote, remote < noiseFloorNs));

        var verdict = 0;
        for (var i = 1; i < segments.Count; i++)
        {
            if (segments[i].CostNs > segments[verdict].CostNs)
            {
                verdict = i;
            }
        }

        return ([.. segments], verdict);
    }

    /// <summary>
    /// The request/reply split of the segment between two points with a round trip each. Points
    /// on one node share a clock, so their split is exact; across nodes it feeds and uses the
    /// pair's offset estimate.
    /// </summary>
    private LegSplit Split(in Item near, in Item far)
    {
        var dRequest = far.View.RequestNs - near.View.RequestNs;
        var dReply = near.View.ReplyNs - far.View.ReplyNs;
        var offset = near.Point.Node == far.Point.Node
            ? OffsetEstimate.SameClock
            : offsets.Observe(near.View.PointId, far.View.PointId, near.View.RequestNs, dRequest, dReply);
        return LegSplit.Of(dRequest, dReply, offset);
    }

    private static string Kind(in Item from, in Item to)
    {
        if (from.Coordinate != PathCoordinates.Unknown && to.Coordinate != PathCoordinates.Unknown)
        {
            return from.Coordinate == to.Coordinate && from.Point.Node != to.Point.Node
                ? "unknown"
                : PathCoordinates.Kind(from.Coordinate, to.Coordinate);
        }

        var hostSide = from.Level is >= 1 and <= 3 && to.Level is >= 1 and <= 3;
        return hostSide && from.Point.Node == to.Point.Node ? "nic" : "unknown";
    }

    /// <summary>
    /// Where an unanswered probe vanished: after the last point that saw the request (the next
    /// point is taken from the path's answered probes), or, when the reply was seen on the far
    /// side but never reached the sender's side, between the two.
    /// </summary>
    private static (ProbeOutcome Outcome, string LostIn, int LostAfter) Localise(Item[] ordered, int firstRoundTrip, ShapePoint[]? shape)
    {
        if (firstRoundTrip > 0)
        {
            var near = ordered[firstRoundTrip - 1];
            if (near.View.HasRequest && !near.View.HasReply)
            {
                return (ProbeOutcome.ReplyLost, Kind(near, ordered[firstRoundTrip]), firstRoundTrip);
            }
        }

        if (firstRoundTrip >= 0 || !Array.Exists(ordered, static i => i.View.HasRequest))
        {
            return (ProbeOutcome.Answered, "", -1);
        }

        var last = Array.FindLastIndex(ordered, static i => i.View.HasRequest);
        var from = ordered[last];
        if (from.Coordinate == PathCoordinates.Unknown)
        {
            return (ProbeOutcome.RequestLost, "unknown", last);
        }

        if (shape is not null)
        {
            foreach (var next in shape)
            {
                if (next.Coordinate > from.Coordinate)
                {
                    return (ProbeOutcome.RequestLost, PathCoordinates.Kind(from.Coordinate, next.Coordinate), last);
                }
            }
        }

        return (ProbeOutcome.RequestLost, PathCoordinates.RemoteKind(from.Coordinate), last);
    }
}
