using HopCapture.Correlator.Selection;
using HopCapture.Protos;

namespace HopCapture.Correlator.Alerts;

/// <summary>A validated rule, ready to take samples from correlated probes.</summary>
public sealed class AlertRule
{
    private AlertRule(AlertRuleOptions options)
    {
        Options = options;
        Name = options.Name;
        Src = new Glob(options.Src);
        Dst = new Glob(options.Dst);
        Node = new Glob(options.Node);
        Segment = options.Segment.Trim().ToLowerInvariant();
        // The validator has refused unknown values before a rule is compiled.
        Leg = SegmentLegs.TryParse(options.Leg, out var leg) ? leg : throw new ArgumentException($"unknown leg '{options.Leg}'", nameof(options));
        Statistic = AlertStatistics.TryParse(options.Statistic, out var statistic)
            ? statistic
            : throw new ArgumentException($"unknown statistic '{options.Statistic}'", nameof(options));
    }

    public AlertRuleOptions Options { get; }

    public string Name { get; }

    public Glob Src { get; }

    public Glob Dst { get; }

    public Glob Node { get; }

    /// <summary>Lower case kind, or "*" for the whole round trip / any loss.</summary>
    public string Segment { get; }

    public Leg Leg { get; }

    public AlertStatistic Statistic { get; }

    public double Threshold => Options.Threshold;

    public long WindowNs => (long)Options.Window.TotalNanoseconds;

    public long ForNs => (long)Options.For.TotalNanoseconds;

    public long KeepFiringForNs => (long)Options.KeepFiringFor.TotalNanoseconds;

    public string Unit => AlertStatistics.Unit(Statistic);

    private bool AnySegment => Segment is "*" or "any" or "";

    public static AlertRule Compile(AlertRuleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new AlertRule(options);
    }

    public bool MatchesPath(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (!Src.IsMatch(record.Src) || !Dst.IsMatch(record.Dst))
        {
            return false;
        }

        if (Node.MatchesAll)
        {
            return true;
        }

        foreach (var point in record.Points)
        {
            if (Node.IsMatch(point.Node))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// The probe's sample for this rule in the rule's unit (ms, or 100/0 for lost/not lost), and
    /// whether the sample alone breaches the threshold. False when the probe says nothing about
    /// the segment (answered without crossing it, or a latency rule and the probe was lost).
    /// </summary>
    public bool TrySample(ProbeRecord record, out double value, out bool breaching)
    {
        ArgumentNullException.ThrowIfNull(record);
        value = 0;
        breaching = false;
        switch (Statistic)
        {
            case AlertStatistic.Loss or AlertStatistic.Freezes:
                var lost = !record.Answered && (AnySegment || KindMatches(record.LostIn)) && SegmentLegs.LossMatches(record.LostLeg, Leg);
                if (!lost && !AnySegment && record.Answered && !Crosses(record))
                {
                    return false;
                }

                value = lost ? 100 : 0;
                breaching = lost;
                return true;
            default:
                if (!record.Answered)
                {
                    return false;
                }

                long? worst = null;
                if (AnySegment)
                {
                    worst = record.RttNs;
                }
                else
                {
                    foreach (var segment in record.Segments)
                    {
                        if (KindMatches(segment.Kind) && SegmentLegs.Cost(segment, Leg) is { } cost && (worst is null || cost > worst))
                        {
                            worst = cost;
                        }
                    }
                }

                if (worst is null)
                {
                    return false;
                }

                value = worst.Value / 1e6;
                breaching = value > Threshold;
                return true;
        }
    }

    private bool Crosses(ProbeRecord record)
    {
        foreach (var segment in record.Segments)
        {
            if (KindMatches(segment.Kind))
            {
                return true;
            }
        }

        return false;
    }

    private bool KindMatches(string kind) => string.Equals(kind, Segment, StringComparison.OrdinalIgnoreCase);
}
