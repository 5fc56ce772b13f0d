using HopCapture.Analysis.Legs;
using HopCapture.Analysis.Segments;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;

namespace HopCapture.Analysis.Probes;

/// <summary>One point of a probe with its names: node, logical point, role and the interfaces it crossed.</summary>
public readonly record struct ProbePoint(PointEntry Entry, string RequestIface, string ReplyIface, PointView View)
{
    public string Node => Entry.Node;

    public string Point => Entry.Point;

    public PointRole Role => Entry.Role;

    /// <summary>"node/point", how tables, verdicts and loss places name a point.</summary>
    public string Name => Entry.Node + "/" + Entry.Point;
}

/// <summary>A segment of a probe, typed: its kind, its round-trip cost and the request/reply split.</summary>
public readonly record struct ProbeSegment(int From, int To, SegmentKind Kind, long CostNs, bool WithinNoise, LegSplit Split)
{
    /// <summary>The responder's turnaround beyond the last point.</summary>
    public bool IsRemote => To < 0;

    /// <summary>"request", "reply", "both", "unknown"; "" beyond the last point, where no leg applies.</summary>
    public string LegName => IsRemote ? "" : SegmentLegs.Name(Split.Leg);
}

/// <summary>Where a lost probe vanished: the segment after <see cref="After"/>, on <see cref="Leg"/>.</summary>
public readonly record struct ProbeLoss(SegmentKind Segment, Leg Leg, string After)
{
    /// <summary>"request" or "reply".</summary>
    public string LegName => SegmentLegs.Name(Leg);
}

/// <summary>
/// A correlated probe: the domain model everything after the engine works with — stored,
/// alerted on, counted in metrics, traced, analysed offline. A view over the engine's result and
/// the catalog that names its points: names are looked up when asked, so a view that only counts
/// (most probes of a large capture) costs no strings. The wire's <c>ProbeRecord</c> is mapped
/// from it at the edges (Contracts).
/// </summary>
public sealed class Probe
{
    private string? _src;
    private string? _dst;

    public Probe(ProbeResult result, InterfaceCatalog catalog, string? src = null, string? dst = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(catalog);
        Result = result;
        Catalog = catalog;
        _src = src;
        _dst = dst;
    }

    public ProbeResult Result { get; }

    public InterfaceCatalog Catalog { get; }

    /// <summary>Store id (0 until stored; <c>capture analyze</c> numbers probes in finalisation order).</summary>
    public long Id { get; set; }

    public ProbeKey Key => Result.Key;

    /// <summary>The echo request's source, printable.</summary>
    public string Src => _src ??= AddressText.Of(Result.Key.Src);

    public string Dst => _dst ??= AddressText.Of(Result.Key.Dst);

    public ushort IcmpId => Result.Key.IcmpId;

    public ushort IcmpSeq => Result.Key.IcmpSeq;

    /// <summary>Request time at the first point (that node's clock).</summary>
    public long FirstTsNs => Result.FirstTimestampNs;

    /// <summary>When the correlator took the probe's first observation (its own clock): the time windows' base.</summary>
    public long ArrivalNs => Result.FirstArrivalNs;

    /// <summary>The largest single-clock round trip (the first point's); 0 when none.</summary>
    public long RttNs => Result.RoundTripNs;

    public bool Answered => Result.Answered;

    public ProbeOutcome Outcome => Result.Outcome;

    public int Duplicates => Result.Duplicates;

    public bool Imported => Result.Imported;

    public int PointCount => Result.Points.Length;

    public int SegmentCount => Result.Segments.Length;

    public ProbePoint Point(int index)
    {
        var view = Result.Points[index];
        return new ProbePoint(Catalog.Point(view.PointId),
            view.HasRequest ? Catalog.Interface(view.RequestIface).Iface : "",
            view.HasReply ? Catalog.Interface(view.ReplyIface).Iface : "",
            view);
    }

    /// <summary>The node of point <paramref name="index"/> (no other lookup).</summary>
    public string NodeOf(int index) => Catalog.Point(Result.Points[index].PointId).Node;

    /// <summary>"node/point" of point <paramref name="index"/>.</summary>
    public string PointName(int index)
    {
        var entry = Catalog.Point(Result.Points[index].PointId);
        return entry.Node + "/" + entry.Point;
    }

    public ProbeSegment Segment(int index)
    {
        var view = Result.Segments[index];
        return new ProbeSegment(view.From, view.To, SegmentKind.Of(view.Kind), view.CostNs, view.WithinNoise, view.Split);
    }

    /// <summary>The segment that held the probe; null when none (lost, or a single point).</summary>
    public ProbeSegment? Verdict => Result.VerdictSegment >= 0 ? Segment(Result.VerdictSegment) : null;

    public int VerdictIndex => Result.VerdictSegment;

    /// <summary>The verdict's kind name; "lost:KIND" for a lost probe; "" when there is none.</summary>
    public string VerdictKindName => Result.Verdict is { } verdict ? verdict.Kind : Result.Answered ? "" : "lost:" + Result.LostIn;

    /// <summary>The leg of the verdict's segment ("request", "reply", "both", "unknown"), "" when none applies.</summary>
    public string VerdictLegName => Result.Verdict is { } verdict && verdict.To >= 0 ? SegmentLegs.Name(verdict.Split.Leg) : "";

    public long VerdictCostNs => Result.Verdict?.CostNs ?? 0;

    /// <summary>Where the probe vanished; null when it was answered.</summary>
    public ProbeLoss? Loss => Result.Outcome switch
    {
        ProbeOutcome.RequestLost => new ProbeLoss(SegmentKind.Of(Result.LostIn), Leg.Request, LostAfterName),
        ProbeOutcome.ReplyLost => new ProbeLoss(SegmentKind.Of(Result.LostIn), Leg.Reply, LostAfterName),
        _ => null,
    };

    /// <summary>The kind name of where it vanished ("" when answered).</summary>
    public string LostInName => Result.LostIn;

    /// <summary>"request" or "reply" for a lost probe, else "".</summary>
    public string LostLegName => Result.Outcome switch
    {
        ProbeOutcome.RequestLost => "request",
        ProbeOutcome.ReplyLost => "reply",
        _ => "",
    };

    /// <summary>"node/point" that saw the lost packet last, else "".</summary>
    public string LostAfterName => Result.LostAfter >= 0 && Result.LostAfter < Result.Points.Length ? PointName(Result.LostAfter) : "";

    /// <summary>Whether any point of the probe is on a node <paramref name="matches"/> accepts.</summary>
    public bool AnyNode(Func<string, bool> matches)
    {
        ArgumentNullException.ThrowIfNull(matches);
        for (var i = 0; i < Result.Points.Length; i++)
        {
            if (matches(NodeOf(i)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>"fabric, reply leg, 120.00 ms ± 0.025 ms", "lost in vif", "not enough points".</summary>
    public string VerdictText => Result.Verdict is { } verdict
        ? verdict.To < 0 || verdict.WithinNoise
            ? Durations.VerdictText(verdict.Kind, verdict.CostNs, verdict.WithinNoise)
            : Durations.VerdictText(verdict.Kind, verdict.CostNs, verdict.Split)
        : Result.Answered ? "not enough points" : $"lost in {Result.LostIn}";

    public override string ToString() => $"{Src} → {Dst} id {IcmpId} seq {IcmpSeq}";
}
