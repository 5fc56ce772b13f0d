using Google.Protobuf;
using HopCapture.Analysis.Legs;
using HopCapture.Analysis.Probes;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Contracts.Mapping;

/// <summary>Engine types to and from the wire contracts. The one place the two meet.</summary>
public static class ContractMapping
{
    public static PointRole ToEngine(this Role role) => role switch
    {
        Role.Guest => PointRole.Guest,
        Role.Vif => PointRole.Vif,
        Role.Bridge => PointRole.Bridge,
        Role.Nic => PointRole.Nic,
        Role.App => PointRole.App,
        _ => PointRole.Unknown,
    };

    public static Role ToProto(this PointRole role) => role switch
    {
        PointRole.Guest => Role.Guest,
        PointRole.Vif => Role.Vif,
        PointRole.Bridge => Role.Bridge,
        PointRole.Nic => Role.Nic,
        PointRole.App => Role.App,
        _ => Role.Unspecified,
    };

    public static PacketDirection ToEngine(this Direction direction) => direction switch
    {
        Direction.In => PacketDirection.In,
        Direction.Out => PacketDirection.Out,
        _ => PacketDirection.Unknown,
    };

    public static Direction ToProto(this PacketDirection direction) => direction switch
    {
        PacketDirection.In => Direction.In,
        PacketDirection.Out => Direction.Out,
        _ => Direction.Unspecified,
    };

    /// <summary>Lower-case role name as users type it in configs and see it in tables.</summary>
    public static string ToName(this Role role) => role.ToEngine().ToString().ToLowerInvariant();

    public static ByteString AddressBytes(UInt128 address) => AddressForms.Bytes(address);

    public static Engine.Correlation.ProbeKey ToEngine(this Protos.ProbeKey key) => new(
        IpAddress128.FromBytes(key.Src.Span),
        IpAddress128.FromBytes(key.Dst.Span),
        (ushort)key.IcmpId,
        (ushort)key.IcmpSeq,
        key.PayloadHash);

    /// <summary>"node/point", how tables and verdicts name a point.</summary>
    public static string PointName(PointEntry point)
    {
        ArgumentNullException.ThrowIfNull(point);
        return point.Node + "/" + point.Point;
    }

    /// <summary>The stored and queried form of an engine result (as <see cref="ToRecord(Probe)"/>).</summary>
    public static ProbeRecord ToRecord(this ProbeResult result, InterfaceCatalog catalog) => new Probe(result, catalog).ToRecord();

    /// <summary>Builds the stored and queried form of a correlated probe.</summary>
    public static ProbeRecord ToRecord(this Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        var record = new ProbeRecord();
        probe.FillRecord(record);
        return record;
    }

    /// <summary>
    /// Maps <paramref name="probe"/> into <paramref name="record"/> (what <see cref="ToRecord(Probe)"/>
    /// builds), overwriting the record's key, points, segments and verdict objects instead of
    /// making new ones: the store writer maps every probe it writes into records it keeps for the
    /// next transaction. Only for records this mapping made: fields it does not set stay as they were.
    /// </summary>
    public static void FillRecord(this Probe probe, ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(probe);
        ArgumentNullException.ThrowIfNull(record);
        var key = probe.Key;
        var recordKey = record.Key ??= new Protos.ProbeKey();
        recordKey.Src = AddressBytes(key.Src);
        recordKey.Dst = AddressBytes(key.Dst);
        recordKey.IcmpId = key.IcmpId;
        recordKey.IcmpSeq = key.IcmpSeq;
        recordKey.PayloadHash = key.PayloadHash;
        record.Id = probe.Id;
        record.Src = probe.Src;
        record.Dst = probe.Dst;
        record.FirstTsNs = probe.FirstTsNs;
        record.ArrivalNs = probe.ArrivalNs;
        record.RttNs = probe.RttNs;
        record.Answered = probe.Answered;
        record.LostIn = probe.LostInName;
        record.LostLeg = probe.LostLegName;
        record.Imported = probe.Imported;
        record.Duplicates = (uint)probe.Duplicates;
        record.LostAfter = probe.LostAfterName;

        Shrink(record.Points, probe.PointCount);
        for (var i = 0; i < probe.PointCount; i++)
        {
            var point = probe.Point(i);
            var view = point.View;
            var target = Slot(record.Points, i);
            target.Node = point.Node;
            target.Point = point.Point;
            target.Role = point.Role.ToProto();
            target.RequestIface = point.RequestIface;
            target.ReplyIface = point.ReplyIface;
            target.RequestDirection = view.RequestDirection.ToProto();
            target.ReplyDirection = view.ReplyDirection.ToProto();
            target.HasRequest = view.HasRequest;
            target.HasReply = view.HasReply;
            target.RequestTsNs = view.RequestNs;
            target.ReplyTsNs = view.ReplyNs;
            target.RoundTripNs = view.RoundTripNs;
        }

        var segments = probe.Result.Segments;
        Shrink(record.Segments, segments.Length);
        for (var i = 0; i < segments.Length; i++)
        {
            var segment = segments[i];
            var target = Slot(record.Segments, i);
            target.FromPoint = segment.From;
            target.ToPoint = segment.To;
            target.Kind = segment.Kind;
            target.CostNs = segment.CostNs;
            target.WithinNoise = segment.WithinNoise;
            target.RequestNs = segment.Split.RequestNs;
            target.ReplyNs = segment.Split.ReplyNs;
            target.LegUncertaintyNs = segment.Split.UncertaintyNs;
            target.Leg = segment.To < 0 ? "" : SegmentLegs.Name(segment.Split.Leg);
            target.OffsetNs = segment.Split.OffsetNs;
            target.LegClamped = segment.Split.Clamped;
        }

        var verdict = record.Verdict ??= new Verdict();
        verdict.Kind = probe.VerdictKindName;
        verdict.CostNs = probe.VerdictCostNs;
        verdict.Segment = probe.VerdictIndex;
        verdict.Text = probe.VerdictText;
    }

    private static void Shrink<T>(Google.Protobuf.Collections.RepeatedField<T> field, int count)
    {
        while (field.Count > count)
        {
            field.RemoveAt(field.Count - 1);
        }
    }

    /// <summary>Entry <paramref name="index"/> of <paramref name="field"/> to overwrite, added when the field is that short.</summary>
    private static T Slot<T>(Google.Protobuf.Collections.RepeatedField<T> field, int index)
        where T : new()
    {
        if (index < field.Count)
        {
            return field[index];
        }

        var added = new T();
        field.Add(added);
        return added;
    }

    /// <summary>
    /// A stored or received record back to the domain probe, for what reads records and reasons
    /// about them (alerts and reports fed from storage, tests that start past the engine). The
    /// record's points are named in a catalog of their own; its printable addresses are kept.
    /// </summary>
    public static Probe ToProbe(this ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var catalog = new InterfaceCatalog();
        var points = new PointView[record.Points.Count];
        var lostAfter = -1;
        for (var i = 0; i < points.Length; i++)
        {
            var p = record.Points[i];
            var role = p.Role.ToEngine();
            var pointName = p.Point.Length > 0 ? p.Point : "?";
            var node = p.Node.Length > 0 ? p.Node : "?";
            var request = catalog.Register(node, p.RequestIface.Length > 0 ? p.RequestIface : pointName, pointName, role);
            var reply = catalog.Register(node, p.ReplyIface.Length > 0 ? p.ReplyIface : pointName, pointName, role);
            points[i] = new PointView(request.PointId, request.Id, reply.Id, p.RequestTsNs, p.ReplyTsNs,
                p.RequestDirection.ToEngine(), p.ReplyDirection.ToEngine(), p.HasRequest, p.HasReply);
            if (lostAfter < 0 && record.LostAfter.Length > 0 && record.LostAfter == node + "/" + pointName)
            {
                lostAfter = i;
            }
        }

        var segments = new SegmentView[record.Segments.Count];
        for (var i = 0; i < segments.Length; i++)
        {
            var s = record.Segments[i];
            segments[i] = new SegmentView(s.FromPoint, s.ToPoint, s.Kind, s.CostNs, s.WithinNoise)
            {
                Split = new LegSplit(SegmentLegs.ParseSplit(s.Leg), s.RequestNs, s.ReplyNs, s.LegUncertaintyNs, s.OffsetNs, s.LegClamped),
            };
        }

        var verdict = record.Verdict is { Segment: >= 0 } v && v.Segment < segments.Length ? v.Segment : -1;
        var key = record.Key ?? new Protos.ProbeKey();
        var result = new ProbeResult
        {
            Key = new Engine.Correlation.ProbeKey(Address(key.Src), Address(key.Dst), (ushort)key.IcmpId, (ushort)key.IcmpSeq, key.PayloadHash),
            Points = points,
            Segments = segments,
            VerdictSegment = verdict,
            Outcome = record.Answered ? ProbeOutcome.Answered : record.LostLeg == "reply" ? ProbeOutcome.ReplyLost : ProbeOutcome.RequestLost,
            LostIn = record.Answered ? "" : record.LostIn,
            LostAfter = lostAfter,
            FirstTimestampNs = record.FirstTsNs,
            FirstArrivalNs = record.ArrivalNs,
            RoundTripNs = record.RttNs,
            Duplicates = (int)record.Duplicates,
            Imported = record.Imported,
        };
        return new Probe(result, catalog, record.Src, record.Dst) { Id = record.Id };
    }

    private static UInt128 Address(ByteString bytes) => bytes.Length is 4 or 16 ? IpAddress128.FromBytes(bytes.Span) : UInt128.Zero;
}
