using HopCapture.Protos;

namespace HopCapture.Correlator.Alerts;

public enum Leg
{
    Any,
    Request,
    Reply,
}

/// <summary>
/// Which leg of a segment a rule looks at. Records do not carry a per-leg split yet (the
/// request/reply split needs per-segment clock offsets), so today a leg-specific rule sees the
/// segment's round-trip cost: the one place to change when Segment gains request/reply fields.
/// Loss already knows its leg (ProbeRecord.lost_leg).
/// </summary>
public static class SegmentLegs
{
    public const string Allowed = "any, request, reply";

    public static bool TryParse(string? text, out Leg leg)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "any" or "*":
                leg = Leg.Any;
                return true;
            case "request":
                leg = Leg.Request;
                return true;
            case "reply":
                leg = Leg.Reply;
                return true;
            default:
                leg = Leg.Any;
                return false;
        }
    }

    public static string Name(Leg leg) => leg switch
    {
        Leg.Request => "request",
        Leg.Reply => "reply",
        _ => "any",
    };

    /// <summary>The segment's cost on <paramref name="leg"/> in ns, or null when the segment says it was not this leg.</summary>
    public static long? Cost(Segment segment, Leg leg)
    {
        ArgumentNullException.ThrowIfNull(segment);
        _ = leg; // no per-leg fields yet: every leg sees the round-trip cost
        return segment.CostNs;
    }

    /// <summary>Whether a probe lost in <paramref name="lostLeg"/> ("request", "reply" or "") counts for <paramref name="leg"/>.</summary>
    public static bool LossMatches(string lostLeg, Leg leg) =>
        leg == Leg.Any || string.IsNullOrEmpty(lostLeg) || string.Equals(lostLeg, Name(leg), StringComparison.OrdinalIgnoreCase);
}
