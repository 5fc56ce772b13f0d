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
        var key = probe.Key;
        var record = new ProbeRecord
        {
            Id = probe.Id,
            Key = new Protos.ProbeKey
            {
                Src = AddressBytes(key.Src),
                Dst = AddressBytes(key.Dst),
                IcmpId = key.IcmpId,
                IcmpSeq = key.IcmpSeq,
                PayloadHash = key.PayloadHash,
            },
            Src = probe.Src,
            Dst = probe.Dst,
            FirstTsNs = probe.FirstTsNs,
            ArrivalNs = probe.ArrivalNs,
            RttNs = probe.RttNs,
            Answered = probe.Answered,
            LostIn = probe.LostInName,
            LostLeg = probe.LostLegName,
            Imported = probe.Imported,
            Duplicates = (uint)probe.Duplicates,
            LostAfter = probe.LostAfterName,
        };

        for (var i = 0; i < probe.PointCount; i++)
        {
            var point = probe.Point(i);
            var view = point.View;
            record.Points.Add(new Protos.ProbePoint
            {
                Node = point.Node,
                Point = point.Point,
                Role = point.Role.ToProto(),
                RequestIface = point.RequestIface,
                ReplyIface = point.ReplyIface,
                RequestDirection = view.RequestDirection.ToProto(),
                ReplyDirection = view.ReplyDirection.ToProto(),
                HasRequest = view.HasRequest,
                HasReply = view.HasReply,
                RequestTsNs = view.RequestNs,
                ReplyTsNs = view.ReplyNs,
                RoundTripNs = view.RoundTripNs,
            });
        }

        foreach (var segment in probe.Result.Segments)
        {
            record.Segments.Add(new Protos.Segment
            {
                FromPoint = segment.From,
                ToPoint = segment.To,
                Kind = segment.Kind,
                CostNs = segment.CostNs,
                WithinNoise = segment.WithinNoise,
                RequestNs = segment.Split.RequestNs,
                ReplyNs = segment.Split.ReplyNs,
                LegUncertaintyNs = segment.Split.UncertaintyNs,
                Leg = segment.To < 0 ? "" : SegmentLegs.Name(segment.Split.Leg),
                OffsetNs = segment.Split.OffsetNs,
                LegClamped = segment.Split.Clamped,
            });
        }

        record.Verdict = new Verdict
        {
            Kind = probe.VerdictKindName,
            CostNs = probe.VerdictCostNs,
            Segment = probe.VerdictIndex,
            Text = probe.VerdictText,
        };
        return record;
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
