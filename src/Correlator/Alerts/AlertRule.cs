using HopCapture.Analysis.Legs;
using HopCapture.Analysis.Loss;
using HopCapture.Analysis.Probes;
using HopCapture.Analysis.Segments;
using HopCapture.Correlator.Selection;

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
        // The validator has refused unknown values before a rule is compiled.
        var match = SegmentSelector.TryParseMatch(options.SegmentMatch, out var m) ? m : throw new ArgumentException($"unknown segment match '{options.SegmentMatch}'", nameof(options));
        Selector = SegmentSelector.TryParse(options.Segment, match, out var selector) ? selector : throw new ArgumentException($"unknown segment '{options.Segment}'", nameof(options));
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

    /// <summary>Which segments the rule looks at, and how combined kinds count (<see cref="SegmentSelector"/>).</summary>
    public SegmentSelector Selector { get; }

    /// <summary>Lower case kind, or "*" for the whole round trip / any loss.</summary>
    public string Segment => Selector.Name;

    public Leg Leg { get; }

    public AlertStatistic Statistic { get; }

    public double Threshold => Options.Threshold;

    public long WindowNs => (long)Options.Window.TotalNanoseconds;

    public long ForNs => (long)Options.For.TotalNanoseconds;

    public long KeepFiringForNs => (long)Options.KeepFiringFor.TotalNanoseconds;

    public string Unit => AlertStatistics.Unit(Statistic);

    /// <summary>The rule a built-in alert (agent-down, store-unwritable) carries: its name, severity and threshold in seconds, no path selector.</summary>
    public static AlertRule BuiltIn(string name, double thresholdSeconds, string severity) => Compile(new AlertRuleOptions
    {
        Name = name,
        Segment = "*",
        Statistic = "max",
        Threshold = thresholdSeconds,
        For = TimeSpan.Zero,
        Severity = severity,
    });

    public static AlertRule Compile(AlertRuleOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new AlertRule(options);
    }

    public bool MatchesPath(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (!Src.IsMatch(probe.Src) || !Dst.IsMatch(probe.Dst))
        {
            return false;
        }

        return Node.MatchesAll || probe.AnyNode(Node.IsMatch);
    }

    /// <summary>
    /// The probe's sample for this rule in the rule's unit (ms, or 100/0 for lost/not lost), and
    /// whether the sample alone breaches the threshold. False when the probe says nothing about
    /// the segment (answered without crossing it, or a latency rule and the probe was lost).
    /// Freezes take every probe of the path: where a run of losses vanished is decided over the
    /// whole run by the ping-run analysis (<see cref="PingRun"/>), as <c>capture freezes</c> does.
    /// </summary>
    public bool TrySample(Probe probe, out double value, out bool breaching)
    {
        ArgumentNullException.ThrowIfNull(probe);
        value = 0;
        breaching = false;
        switch (Statistic)
        {
            case AlertStatistic.Freezes:
                breaching = !probe.Answered && LossCounts(probe.Loss);
                value = breaching ? 100 : 0;
                return true;
            case AlertStatistic.Loss:
                var lost = !probe.Answered && LossCounts(probe.Loss);
                if (!lost && !Selector.IsAny && probe.Answered && !Crosses(probe))
                {
                    return false;
                }

                value = lost ? 100 : 0;
                breaching = lost;
                return true;
            default:
                if (!probe.Answered)
                {
                    return false;
                }

                long? worst = null;
                if (Selector.IsAny)
                {
                    worst = probe.RttNs;
                }
                else
                {
                    for (var i = 0; i < probe.SegmentCount; i++)
                    {
                        var segment = probe.Segment(i);
                        if (Selector.Matches(segment.Kind) && SegmentLegs.Cost(segment, Leg) is { } cost && (worst is null || cost > worst))
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

    /// <summary>Whether a freeze found by the ping-run analysis is one this rule counts: its place and leg.</summary>
    public bool Counts(Freeze freeze)
    {
        ArgumentNullException.ThrowIfNull(freeze);
        if (freeze.Silence)
        {
            return false;
        }

        if (!Selector.IsAny && !Selector.Matches(SegmentKind.Of(freeze.Segment)))
        {
            return false;
        }

        return SegmentLegs.LossMatches(freeze.Leg, Leg);
    }

    private bool LossCounts(ProbeLoss? loss) =>
        loss is { } l && (Selector.IsAny || Selector.Matches(l.Segment)) && SegmentLegs.LossMatches(l.Leg, Leg);

    private bool Crosses(Probe probe)
    {
        for (var i = 0; i < probe.SegmentCount; i++)
        {
            if (Selector.Matches(probe.Segment(i).Kind))
            {
                return true;
            }
        }

        return false;
    }
}
