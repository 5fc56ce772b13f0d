using HopCapture.Analysis.Probes;
using HopCapture.Engine.Direction;

namespace HopCapture.Analysis.Legs;

/// <summary>Which leg of a segment a rule or a query looks at.</summary>
public enum Leg
{
    Any,
    Request,
    Reply,
}

/// <summary>
/// Legs by name and a segment's cost on a leg: the segment's request/reply split (from the
/// per-pair clock offsets) for a leg, its round-trip cost for <see cref="Leg.Any"/>. A lost
/// probe knows its leg from where it vanished (<see cref="ProbeLoss.Leg"/>).
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

    /// <summary>The stored name of a split's leg ("request", "reply", "both", "unknown"; "" when none applies).</summary>
    public static string Name(SegmentLeg leg) => LegSplit.Name(leg);

    /// <summary>The stored name back to the leg; anything else is <see cref="SegmentLeg.None"/>.</summary>
    public static SegmentLeg ParseSplit(string? text) => text switch
    {
        "request" => SegmentLeg.Request,
        "reply" => SegmentLeg.Reply,
        "both" => SegmentLeg.Both,
        "unknown" => SegmentLeg.Unknown,
        _ => SegmentLeg.None,
    };

    /// <summary>
    /// The segment's cost on <paramref name="leg"/> in ns; null when the split is not known yet
    /// (clock offset still converging): a leg rule never guesses which leg held the delay.
    /// </summary>
    public static long? Cost(in ProbeSegment segment, Leg leg)
    {
        if (leg == Leg.Any)
        {
            return segment.CostNs;
        }

        if (segment.Split.Leg is SegmentLeg.None or SegmentLeg.Unknown)
        {
            return null;
        }

        return leg == Leg.Request ? segment.Split.RequestNs : segment.Split.ReplyNs;
    }

    /// <summary>Whether a probe lost on <paramref name="lostLeg"/> counts for <paramref name="leg"/> (unknown legs count for every leg).</summary>
    public static bool LossMatches(Leg? lostLeg, Leg leg) => leg == Leg.Any || lostLeg is null || lostLeg == leg;

    /// <summary>As <see cref="LossMatches(Leg?, Leg)"/>, with the stored name ("request", "reply" or "").</summary>
    public static bool LossMatches(string lostLeg, Leg leg) =>
        leg == Leg.Any || string.IsNullOrEmpty(lostLeg) || string.Equals(lostLeg, Name(leg), StringComparison.OrdinalIgnoreCase);
}
