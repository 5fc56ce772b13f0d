namespace HopCapture.Engine.Direction;

/// <summary>Which leg of a segment held its round-trip cost.</summary>
public enum SegmentLeg : byte
{
    /// <summary>Not applicable: the responder's turnaround beyond the last point.</summary>
    None = 0,

    /// <summary>The clock offset across the segment is not known well enough to split it.</summary>
    Unknown = 1,
    Request = 2,
    Reply = 3,
    Both = 4,
}

/// <summary>State of one clock-offset estimate.</summary>
public enum OffsetState : byte
{
    /// <summary>Too few samples yet.</summary>
    Converging = 0,
    Locked = 1,

    /// <summary>Recent samples contradict the estimate; a step is being confirmed.</summary>
    StepSuspected = 2,
}

/// <summary>
/// The offset of the far point's clock relative to the near point's (far − near), with the bound
/// the samples give it: the true offset lies within <see cref="OffsetNs"/> ± <see cref="UncertaintyNs"/>.
/// </summary>
public readonly record struct OffsetEstimate(long OffsetNs, long UncertaintyNs, OffsetState State, int Samples)
{
    /// <summary>Two points on one node share one clock: the offset is exactly zero.</summary>
    public static OffsetEstimate SameClock { get; } = new(0, 0, OffsetState.Locked, 0);
}

/// <summary>A segment's round-trip cost split into its request and reply legs.</summary>
public readonly record struct LegSplit(SegmentLeg Leg, long RequestNs, long ReplyNs, long UncertaintyNs, long OffsetNs, bool Clamped)
{
    /// <summary>
    /// Splits one probe's segment with the offset estimate. d_req mixes the two clocks as
    /// (true request leg + offset), d_rep as (true reply leg − offset).
    /// </summary>
    public static LegSplit Of(long dRequestNs, long dReplyNs, OffsetEstimate offset)
    {
        var cost = dRequestNs + dReplyNs;
        if (offset.State != OffsetState.Locked)
        {
            return new LegSplit(SegmentLeg.Unknown, 0, 0, offset.UncertaintyNs, offset.OffsetNs, false);
        }

        var request = dRequestNs - offset.OffsetNs;
        var reply = dReplyNs + offset.OffsetNs;
        var clamped = false;

        // A negative one-way time is an offset error, not physics: clamp it within the bound and say so.
        if (request < 0)
        {
            (request, reply, clamped) = (0, cost, true);
        }
        else if (reply < 0)
        {
            (request, reply, clamped) = (cost, 0, true);
        }

        var u = offset.UncertaintyNs;
        SegmentLeg leg;
        if (cost <= 0 || 4 * u >= cost)
        {
            // The bound is as wide as a quarter of the cost: either leg could hold it.
            leg = SegmentLeg.Unknown;
        }
        else if (4 * request >= 3 * cost)
        {
            leg = SegmentLeg.Request;
        }
        else if (4 * reply >= 3 * cost)
        {
            leg = SegmentLeg.Reply;
        }
        else
        {
            leg = SegmentLeg.Both;
        }

        return new LegSplit(leg, request, reply, u, offset.OffsetNs, clamped);
    }

    public static string Name(SegmentLeg leg) => leg switch
    {
        SegmentLeg.Request => "request",
        SegmentLeg.Reply => "reply",
        SegmentLeg.Both => "both",
        SegmentLeg.Unknown => "unknown",
        _ => "",
    };
}
