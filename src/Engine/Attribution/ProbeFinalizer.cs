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

    // Working space for one probe at a time (the engine is single-threaded): two item arrays
    // per probe were a fifth of what the correlator allocated at full rate.
    private Item[] _items = new Item[8];
    private Item[] _ordered = new Item[8];

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
        var firstRoundTrip = -1;
        for (var i = 0; i < ordered.Length; i++)
        {
            if (ordered[i].View.HasRoundTrip)
            {
                firstRoundTrip = i;
                break;
            }
        }

        var (outcome, lostIn, lostAfter) = Localise(ordered, firstRoundTrip, shape);

        if (outcome == ProbeOutcome.Answered && ordered.Length > 1)
        {
            Span<ShapePoint> learned = stackalloc ShapePoint[ordered.Length];
            var count = 0;
            foreach (var item in ordered)
            {
                if (item.View.HasRoundTrip && item.Coordinate != PathCoordinates.Unknown)
                {
                    learned[count++] = new ShapePoint(item.View.PointId, item.Coordinate);
                }
            }

            shapes.Learn(state.Key.Src, state.Key.Dst, learned[..count]);
        }

        var first = ordered.Length > 0 ? ordered[0].View : default;
        return new ProbeResult
        {
            Key = state.Key,
            Points = Views(ordered),
            Segments = segments,
            VerdictSegment = verdict,
            Outcome = outcome,
            LostIn = lostIn,
            LostAfter = lostAfter,
            FirstTimestampNs = first.HasRequest ? first.RequestNs : first.ReplyNs,
            FirstArrivalNs = state.FirstArrivalNs,
            RoundTripNs = firstRoundTrip >= 0 ? ordered[firstRoundTrip].View.RoundTripNs : 0,
            Duplicates = state.Duplicates,
            Imported = state.Imported,
        };
    }

    private static PointView[] Views(ReadOnlySpan<Item> ordered)
    {
        var views = new PointView[ordered.Length];
        for (var i = 0; i < views.Length; i++)
        {
            views[i] = ordered[i].View;
        }

        return views;
    }

    private static Span<Item> Buffer(ref Item[] buffer, int length)
    {
        if (buffer.Length < length)
        {
            buffer = new Item[Math.Max(length, buffer.Length * 2)];
        }

        return buffer.AsSpan(0, length);
    }

    private Span<Item> Describe(ReadOnlySpan<PointSlot> slots)
    {
        var items = Buffer(ref _items, slots.Length);
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
    private static void ResolveSides(Span<Item> items)
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

        var unresolved = false;
        foreach (ref readonly var item in items)
        {
            unresolved |= item.SenderSide is null && item.Level != PathCoordinates.Unknown;
        }

        if (!unresolved)
        {
            return;
        }

        // Along the path the level climbs guest → vif → bridge → NIC on the sender's side and
        // falls on the responder's; the side changes where the level falls, or where it stays
        // level between two nodes (NIC to NIC across the fabric).
        // Indices of the points with a round trip and a level, by decreasing round trip (stable).
        Span<int> byRoundTrip = stackalloc int[items.Length];
        var count = 0;
        for (var i = 0; i < items.Length; i++)
        {
            if (!items[i].View.HasRoundTrip || items[i].Level == PathCoordinates.Unknown)
            {
                continue;
            }

            var at = count++;
            while (at > 0 && items[byRoundTrip[at - 1]].View.RoundTripNs < items[i].View.RoundTripNs)
            {
                byRoundTrip[at] = byRoundTrip[at - 1];
                at--;
            }

            byRoundTrip[at] = i;
        }

        // Sides are decided on the known ones before any is filled in, as the order is walked.
        Span<sbyte> decided = stackalloc sbyte[items.Length];
        var crossed = false;
        for (var k = 0; k < count; k++)
        {
            var current = items[byRoundTrip[k]];
            if (k > 0)
            {
                var previous = items[byRoundTrip[k - 1]];
                crossed |= current.SenderSide == false
                    || current.Level < previous.Level
                    || (current.Level == previous.Level && current.Point.Node != previous.Point.Node);
            }

            decided[byRoundTrip[k]] = (current.SenderSide ?? !crossed) ? (sbyte)1 : (sbyte)-1;
        }

        for (var i = 0; i < items.Length; i++)
        {
            if (items[i].SenderSide is null && decided[i] != 0)
            {
                items[i].SenderSide = decided[i] > 0;
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
    private Span<Item> Order(ReadOnlySpan<Item> items)
    {
        // Insertion sorts: a probe has a handful of points, and these run once per probe on the
        // correlator's hot path. Both are stable, like the LINQ sorts they replace.
        var ordered = Buffer(ref _ordered, items.Length);
        var withRoundTrip = 0;
        foreach (var item in items)
        {
            if (item.View.HasRoundTrip)
            {
                var at = withRoundTrip++;
                while (at > 0 && RoundTripFirst(item, ordered[at - 1]))
                {
                    ordered[at] = ordered[at - 1];
                    at--;
                }

                ordered[at] = item;
            }
        }

        var others = withRoundTrip;
        foreach (var item in items)
        {
            if (!item.View.HasRoundTrip)
            {
                var at = others++;
                while (at > withRoundTrip && PathPlaceFirst(item, ordered[at - 1]))
                {
                    ordered[at] = ordered[at - 1];
                    at--;
                }

                ordered[at] = item;
            }
        }

        // Slot each point without a round trip (in path-place order) before the first point
        // further along the path; those whose place is unknown stay at the end.
        var placed = withRoundTrip;
        for (var k = withRoundTrip; k < ordered.Length; k++)
        {
            var item = ordered[k];
            var at = placed;
            if (item.Coordinate != PathCoordinates.Unknown)
            {
                for (var j = 0; j < placed; j++)
                {
                    if (ordered[j].Coordinate != PathCoordinates.Unknown && ordered[j].Coordinate > item.Coordinate)
                    {
                        at = j;
                        break;
                    }
                }
            }

            ordered.Slice(at, k - at).CopyTo(ordered[(at + 1)..]);
            ordered[at] = item;
            placed++;
        }

        return ordered;
    }

    private static bool RoundTripFirst(in Item a, in Item b) =>
        a.View.RoundTripNs > b.View.RoundTripNs
        || (a.View.RoundTripNs == b.View.RoundTripNs && CoordinateOrder(a.Coordinate) < CoordinateOrder(b.Coordinate));

    private static bool PathPlaceFirst(in Item a, in Item b)
    {
        var byPlace = CoordinateOrder(a.Coordinate).CompareTo(CoordinateOrder(b.Coordinate));
        return byPlace < 0 || (byPlace == 0 && FirstSeenNs(a) < FirstSeenNs(b));
    }

    private static long FirstSeenNs(in Item item) => item.View.HasRequest ? item.View.RequestNs : item.View.ReplyNs;

    private static int CoordinateOrder(int coordinate) => coordinate == PathCoordinates.Unknown ? int.MaxValue : coordinate;

    private (SegmentView[] Segments, int Verdict) Attribute(ReadOnlySpan<Item> ordered)
    {
        var roundTrips = 0;
        foreach (var item in ordered)
        {
            roundTrips += item.View.HasRoundTrip ? 1 : 0;
        }

        if (roundTrips == 0)
        {
            return ([], -1);
        }

        // One segment between each pair of neighbours with a round trip, plus the remote one.
        var segments = new SegmentView[roundTrips];
        var count = 0;
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
                segments[count++] = new SegmentView(previous, i, Kind(ordered[previous], ordered[i]), cost, cost < noiseFloorNs)
                {
                    Split = Split(ordered[previous], ordered[i]),
                };
            }

            previous = i;
        }

        var remote = ordered[previous].View.RoundTripNs;
        segments[count] = new SegmentView(previous, -1, PathCoordinates.RemoteKind(ordered[previous].Coordinate), remote, remote < noiseFloorNs);

        var verdict = 0;
        for (var i = 1; i < segments.Length; i++)
        {
            if (segments[i].CostNs > segments[verdict].CostNs)
            {
                verdict = i;
            }
        }

        return (segments, verdict);
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
    private static (ProbeOutcome Outcome, string LostIn, int LostAfter) Localise(ReadOnlySpan<Item> ordered, int firstRoundTrip, ShapePoint[]? shape)
    {
        if (firstRoundTrip > 0)
        {
            var near = ordered[firstRoundTrip - 1];
            if (near.View.HasRequest && !near.View.HasReply)
            {
                return (ProbeOutcome.ReplyLost, Kind(near, ordered[firstRoundTrip]), firstRoundTrip);
            }
        }

        var last = -1;
        for (var i = ordered.Length - 1; i >= 0; i--)
        {
            if (ordered[i].View.HasRequest)
            {
                last = i;
                break;
            }
        }

        if (firstRoundTrip >= 0 || last < 0)
        {
            return (ProbeOutcome.Answered, "", -1);
        }

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
