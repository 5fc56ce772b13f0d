using HopCapture.Protos;

namespace HopCapture.Correlator.Alerts;

public enum Leg
{
    Any,
    Request,
    Reply,
}

/// <summary>
/// Which leg of a segment a rule looks at: the segment's request/reply split (from the
/// correlator's per-pair clock offsets) for a leg rule, its round-trip cost otherwise.
/// Loss knows its leg from ProbeRecord.lost_leg.
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

    /// <summary>
    /// The segment's cost on <paramref name="leg"/> in ns; null when the split is not known yet
    /// (clock offset still converging): a leg rule never guesses which leg held the delay.
    /// </summary>
    public static long? Cost(Segment segment, Leg leg)
    {
        ArgumentNullException.ThrowIfNull(segment);
        if (leg == Leg.Any)
        {
            return segment.CostNs;
        }

        if (segment.Leg is "" or "unknown")
        {
            return null;
        }

        return leg == Leg.Request ? segment.RequestNs : segment.ReplyNs;
    }

    /// <summary>Whether a probe lost in <paramref name="lostLeg"/> ("request", "reply" or "") counts for <paramref name="leg"/>.</summary>
    public static bool LossMatches(string lostLeg, Leg leg) =>
        leg == Leg.Any || string.IsNullOrEmpty(lostLeg) || string.Equals(lostLeg, Name(leg), StringComparison.OrdinalIgnoreCase);
}
