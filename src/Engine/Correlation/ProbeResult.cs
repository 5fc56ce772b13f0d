using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;

namespace HopCapture.Engine.Correlation;

/// <summary>
/// Probe identity: the echo request's addresses, ICMP id and seq, and a short payload hash so a
/// wrapped 16-bit seq or a re-used id never joins two different probes.
/// </summary>
public readonly record struct ProbeKey(UInt128 Src, UInt128 Dst, ushort IcmpId, ushort IcmpSeq, uint PayloadHash)
{
    /// <summary>The key of the probe an observation belongs to (a reply's addresses are swapped).</summary>
    public static ProbeKey Of(in Observation observation) => observation.Type == EchoType.Request
        ? new(observation.Src, observation.Dst, observation.IcmpId, observation.IcmpSeq, observation.PayloadHash)
        : new(observation.Dst, observation.Src, observation.IcmpId, observation.IcmpSeq, observation.PayloadHash);

    public override string ToString() =>
        $"{IpAddress128.Format(Src)} > {IpAddress128.Format(Dst)} id {IcmpId} seq {IcmpSeq}";
}

/// <summary>One logical point's view of a probe.</summary>
public readonly record struct PointView(
    int PointId,
    int RequestIface,
    int ReplyIface,
    long RequestNs,
    long ReplyNs,
    PacketDirection RequestDirection,
    PacketDirection ReplyDirection,
    bool HasRequest,
    bool HasReply)
{
    public bool HasRoundTrip => HasRequest && HasReply;

    /// <summary>Reply minus request on this point's one clock; 0 unless both were seen.</summary>
    public long RoundTripNs => HasRoundTrip ? ReplyNs - RequestNs : 0;
}

/// <summary>
/// A stretch of the path between two consecutive points (<see cref="To"/> = -1: beyond the last
/// point, the responder's turnaround). <see cref="CostNs"/> is the round-trip time spent there.
/// </summary>
public readonly record struct SegmentView(int From, int To, string Kind, long CostNs, bool WithinNoise)
{
    /// <summary>The cost split into request and reply legs with the clock offset across the segment.</summary>
    public LegSplit Split { get; init; }
}

public enum ProbeOutcome : byte
{
    Answered = 0,
    RequestLost = 1,
    ReplyLost = 2,
}

/// <summary>A finalised probe: its points ordered along the path and the attribution.</summary>
public sealed class ProbeResult
{
    public required ProbeKey Key { get; init; }

    /// <summary>Ordered sender side first (decreasing round trip).</summary>
    public required PointView[] Points { get; init; }

    public required SegmentView[] Segments { get; init; }

    /// <summary>Index into <see cref="Segments"/> of the segment that held the probe; -1 when none.</summary>
    public required int VerdictSegment { get; init; }

    public required ProbeOutcome Outcome { get; init; }

    /// <summary>For a lost probe: the kind of segment where it vanished ("" when answered).</summary>
    public required string LostIn { get; init; }

    /// <summary>
    /// For a lost probe: index into <see cref="Points"/> of the last point that saw the lost packet
    /// (the farthest for a request, the nearest for a reply); -1 when answered or unknown.
    /// </summary>
    public int LostAfter { get; init; } = -1;

    /// <summary>Request time at the first point (that node's clock).</summary>
    public required long FirstTimestampNs { get; init; }

    /// <summary>
    /// When the engine took the probe's first observation, on the clock of whoever drives it (the
    /// correlator's own clock; capture time in offline analysis): the store's time base, which no
    /// capturing node's clock can move. 0 when unknown.
    /// </summary>
    public long FirstArrivalNs { get; init; }

    /// <summary>The largest single-clock round trip (the first point's).</summary>
    public required long RoundTripNs { get; init; }

    public required int Duplicates { get; init; }

    /// <summary>Came (in part) from an imported capture rather than a live agent.</summary>
    public bool Imported { get; init; }

    public bool Answered => Outcome == ProbeOutcome.Answered;

    public SegmentView? Verdict => VerdictSegment >= 0 ? Segments[VerdictSegment] : null;
}
