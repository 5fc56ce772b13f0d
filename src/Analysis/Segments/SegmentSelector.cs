namespace HopCapture.Analysis.Segments;

/// <summary>How a selector's kind meets a segment's kind.</summary>
public enum SegmentMatch : byte
{
    /// <summary>The segment's kind contains the selector's parts (<c>fabric</c> matches <c>nic+fabric</c>).</summary>
    Contains = 0,

    /// <summary>The segment's kind is the selector's kind exactly.</summary>
    Exact = 1,
}

/// <summary>
/// Which segments a rule looks at. The rule for combined kinds: a selector matches every segment
/// whose kind <em>contains</em> its parts, unless it asks for <see cref="SegmentMatch.Exact"/>.
/// A <c>fabric</c> rule therefore still sees a probe whose hypervisor NIC was not captured (its
/// fabric delay lands in <c>nic+fabric</c>) — missing one capture point must not blind the rule
/// that pages for the fabric; a rule that must not blame the NIC's share sets exact.
/// <c>*</c> (or <c>any</c>, or empty) is the whole round trip for latency and any place for loss.
/// </summary>
public sealed record SegmentSelector
{
    public const string AnyText = "*";

    private SegmentSelector(SegmentKind? kind, SegmentMatch match)
    {
        Kind = kind;
        Match = match;
    }

    public static SegmentSelector Any { get; } = new(null, SegmentMatch.Contains);

    /// <summary>Null for <see cref="Any"/>.</summary>
    public SegmentKind? Kind { get; }

    public SegmentMatch Match { get; }

    public bool IsAny => Kind is null;

    /// <summary>Lower-case kind, or "*".</summary>
    public string Name => Kind?.Name ?? AnyText;

    public static SegmentSelector For(SegmentKind kind, SegmentMatch match = SegmentMatch.Contains)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return new SegmentSelector(kind, match);
    }

    /// <summary>"*", "any", "" → <see cref="Any"/>; otherwise a kind whose every part is known (or "unknown" itself).</summary>
    public static bool TryParse(string? text, SegmentMatch match, out SegmentSelector selector)
    {
        var trimmed = text?.Trim() ?? "";
        if (trimmed is "" or AnyText || trimmed.Equals("any", StringComparison.OrdinalIgnoreCase))
        {
            selector = Any;
            return true;
        }

        var kind = SegmentKind.Of(trimmed);
        selector = new SegmentSelector(kind, match);
        return kind.Parts.Length > 0 && (kind == SegmentKind.Unknown || !kind.Contains(SegmentPart.Unknown));
    }

    public static bool TryParseMatch(string? text, out SegmentMatch match)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case null or "" or "contains":
                match = SegmentMatch.Contains;
                return true;
            case "exact":
                match = SegmentMatch.Exact;
                return true;
            default:
                match = SegmentMatch.Contains;
                return false;
        }
    }

    public static string MatchName(SegmentMatch match) => match == SegmentMatch.Exact ? "exact" : "contains";

    public bool Matches(SegmentKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        return Kind is null || (Match == SegmentMatch.Exact ? Kind == kind : kind.Contains(Kind));
    }

    /// <summary>How tables say it: "fabric (+combined)", "fabric (exact)" or "*".</summary>
    public string Describe() => Kind is null ? AnyText : Match == SegmentMatch.Exact ? $"{Kind.Name} (exact)" : $"{Kind.Name} (+combined)";

    public override string ToString() => Describe();
}
