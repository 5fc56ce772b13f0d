using Google.Protobuf;
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

    /// <summary>Builds the stored and queried form of a finalised probe.</summary>
    public static ProbeRecord ToRecord(this ProbeResult result, InterfaceCatalog catalog, bool imported = false)
    {
        var record = new ProbeRecord
        {
            Key = new Protos.ProbeKey
            {
                Src = AddressBytes(result.Key.Src),
                Dst = AddressBytes(result.Key.Dst),
                IcmpId = result.Key.IcmpId,
                IcmpSeq = result.Key.IcmpSeq,
                PayloadHash = result.Key.PayloadHash,
            },
            Src = AddressForms.Text(result.Key.Src),
            Dst = AddressForms.Text(result.Key.Dst),
            FirstTsNs = result.FirstTimestampNs,
            RttNs = result.RoundTripNs,
            Answered = result.Answered,
            LostIn = result.LostIn,
            LostLeg = LostLeg(result),
            Imported = imported,
            Duplicates = (uint)result.Duplicates,
            LostAfter = LostAfter(result, catalog),
        };

        foreach (var point in result.Points)
        {
            var entry = catalog.Point(point.PointId);
            record.Points.Add(new ProbePoint
            {
                Node = entry.Node,
                Point = entry.Point,
                Role = entry.Role.ToProto(),
                RequestIface = point.HasRequest ? catalog.Interface(point.RequestIface).Iface : "",
                ReplyIface = point.HasReply ? catalog.Interface(point.ReplyIface).Iface : "",
                RequestDirection = point.RequestDirection.ToProto(),
                ReplyDirection = point.ReplyDirection.ToProto(),
                HasRequest = point.HasRequest,
                HasReply = point.HasReply,
                RequestTsNs = point.RequestNs,
                ReplyTsNs = point.ReplyNs,
                RoundTripNs = point.RoundTripNs,
            });
        }

        foreach (var segment in result.Segments)
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
                Leg = Leg(segment),
                OffsetNs = segment.Split.OffsetNs,
                LegClamped = segment.Split.Clamped,
            });
        }

        record.Verdict = result.Verdict is { } verdict
            ? new Verdict
            {
                Kind = verdict.Kind,
                CostNs = verdict.CostNs,
                Segment = result.VerdictSegment,
                Text = verdict.To < 0 || verdict.WithinNoise
                    ? Durations.VerdictText(verdict.Kind, verdict.CostNs, verdict.WithinNoise)
                    : Durations.VerdictText(verdict.Kind, verdict.CostNs, verdict.Split),
            }
            : new Verdict
            {
                Kind = VerdictKind(result),
                Segment = -1,
                Text = result.Answered ? "not enough points" : $"lost in {result.LostIn}",
            };
        return record;
    }

    // The fields below are what ToRecord puts into a record, for readers that need only them
    // (analyze's views read them straight off the engine's result and build records for the few
    // probes they keep).

    /// <summary>ProbeRecord.lost_leg: "request" or "reply" for a lost probe, else "".</summary>
    public static string LostLeg(ProbeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Outcome switch
        {
            ProbeOutcome.RequestLost => "request",
            ProbeOutcome.ReplyLost => "reply",
            _ => "",
        };
    }

    /// <summary>ProbeRecord.lost_after: "node/point" that saw the lost packet last, else "".</summary>
    public static string LostAfter(ProbeResult result, InterfaceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(catalog);
        return result.LostAfter >= 0 && result.LostAfter < result.Points.Length
            ? PointName(catalog.Point(result.Points[result.LostAfter].PointId))
            : "";
    }

    /// <summary>Verdict.kind: the verdict segment's kind, "lost:KIND" for a lost probe, "" when none.</summary>
    public static string VerdictKind(ProbeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Verdict is { } verdict ? verdict.Kind : result.Answered ? "" : "lost:" + result.LostIn;
    }

    /// <summary>The leg of the verdict's segment, as PathSummaryBuilder.VerdictLeg reads it off a record.</summary>
    public static string VerdictLeg(ProbeResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Verdict is { } verdict ? Leg(verdict) : "";
    }

    /// <summary>Segment.leg: "" for the segment past the last point, else the leg's name.</summary>
    private static string Leg(SegmentView segment) => segment.To < 0 ? "" : LegSplit.Name(segment.Split.Leg);
}
