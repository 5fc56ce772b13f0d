using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// Path summaries, loss and freezes from rollup rows: the same fields as from raw probes, summed
/// over rows (percentiles from the merged histograms, within 1%). Freezes from rollups are runs
/// of consecutive buckets with loss.
/// </summary>
public static class RollupSummaries
{
    /// <summary>One summary per path of <paramref name="rows"/> (in any order), ordered by src, dst.</summary>
    public static List<PathSummary> Paths(IEnumerable<RollupRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return rows.GroupBy(static r => (r.Src, r.Dst))
            .OrderBy(static g => g.Key.Src, StringComparer.Ordinal).ThenBy(static g => g.Key.Dst, StringComparer.Ordinal)
            .Select(static g => Path(g.Key.Src, g.Key.Dst, g.ToList()).ToProto()).ToList();
    }

    public static ListLossResponse Loss(IEnumerable<RollupRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var builder = new LossReportBuilder();
        foreach (var r in rows)
        {
            builder.Add(r.Src, r.Dst, r.FirstTsNs, r.LastTsNs, (ulong)r.Probes, (ulong)r.Lost, r.LostIn, r.LostLeg, r.LostAfter);
        }

        return builder.Build().ToProto();
    }

    /// <summary>
    /// Runs of consecutive buckets with loss (of the plan's widths: hours inside the window,
    /// minutes at its ends) that lost at least <paramref name="minLost"/> in all, per path.
    /// </summary>
    public static ListFreezesResponse Freezes(IStoreReadSession session, WindowPlan plan, string? src, string? dst, int minLost)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(plan);
        var buckets = plan.Pieces
            .SelectMany(p => session.Rollups(p.Width, src, dst, p.SinceNs, p.UntilNs).Where(static r => r.Lost > 0)
                .Select(r => (Start: r.BucketNs, End: r.BucketNs + ((long)p.Width * 1_000_000_000L), Row: r)))
            .ToList();
        var response = new ListFreezesResponse();
        foreach (var path in buckets.GroupBy(static b => (b.Row.Src, b.Row.Dst)).OrderBy(static g => g.Key.Src, StringComparer.Ordinal).ThenBy(static g => g.Key.Dst, StringComparer.Ordinal))
        {
            var run = new List<(long Start, long End, RollupRow Row)>();
            foreach (var bucket in path.OrderBy(static b => b.Start))
            {
                if (run.Count > 0 && bucket.Start > run.Max(static b => b.End))
                {
                    Flush(response, path.Key.Src, path.Key.Dst, run, minLost);
                    run.Clear();
                }

                run.Add(bucket);
            }

            Flush(response, path.Key.Src, path.Key.Dst, run, minLost);
        }

        return response;
    }

    private static void Flush(ListFreezesResponse response, string src, string dst, List<(long Start, long End, RollupRow Row)> run, int minLost)
    {
        var lost = run.Sum(static b => b.Row.Lost);
        if (run.Count == 0 || lost < minLost)
        {
            return;
        }

        var place = run.GroupBy(static b => (b.Row.LostIn, b.Row.LostLeg, b.Row.LostAfter))
            .OrderByDescending(static g => g.Sum(static b => b.Row.Lost)).ThenBy(static g => g.Key.LostIn, StringComparer.Ordinal).First().Key;
        var start = run.Min(static b => b.Row.FirstTsNs);
        var end = run.Max(static b => b.End);
        response.Freezes.Add(new FreezeInfo
        {
            Src = src,
            Dst = dst,
            StartNs = start,
            EndNs = end,
            DurationNs = end - start,
            Lost = (uint)Math.Min(lost, uint.MaxValue),
            Segment = place.LostIn,
            Leg = place.LostLeg,
            After = place.LostAfter,
        });
    }

    private static PathStats Path(string src, string dst, List<RollupRow> rows)
    {
        var rtt = new RttHistogram();
        var verdicts = new Dictionary<string, long>(StringComparer.Ordinal);
        var slowCost = new Dictionary<string, long>(StringComparer.Ordinal);
        var answeredCost = new Dictionary<string, long>(StringComparer.Ordinal);
        var slowLegs = new Dictionary<(string Kind, string Leg), int>();
        var answeredLegs = new Dictionary<(string Kind, string Leg), int>();
        long probes = 0, lost = 0, worstId = 0, worstRtt = long.MinValue, first = long.MaxValue, last = long.MinValue;
        foreach (var r in rows)
        {
            rtt.Merge(r.Rtt);
            probes += r.Probes;
            lost += r.Lost;
            first = Math.Min(first, r.FirstTsNs);
            last = Math.Max(last, r.LastTsNs);
            if (r.WorstRttNs > worstRtt)
            {
                worstRtt = r.WorstRttNs;
                worstId = r.WorstId;
            }

            if (r.Kind.Length == 0)
            {
                continue;
            }

            verdicts[r.Kind] = verdicts.GetValueOrDefault(r.Kind) + r.Probes;
            var answered = r.Probes - r.Lost;
            if (answered > 0)
            {
                answeredCost[r.Kind] = answeredCost.GetValueOrDefault(r.Kind) + r.CostNs;
                answeredLegs[(r.Kind, r.Leg)] = answeredLegs.GetValueOrDefault((r.Kind, r.Leg)) + (int)answered;
            }

            if (r.Slow > 0)
            {
                slowCost[r.Kind] = slowCost.GetValueOrDefault(r.Kind) + r.SlowCostNs;
                slowLegs[(r.Kind, r.Leg)] = slowLegs.GetValueOrDefault((r.Kind, r.Leg)) + (int)r.Slow;
            }
        }

        var slow = slowCost.Count > 0;
        var dominant = PathSummaryBuilder.Dominant(slow ? slowCost : answeredCost);
        return new PathStats(
            src,
            dst,
            Probes: (ulong)probes,
            Answered: (ulong)(probes - lost),
            Lost: (ulong)lost,
            RttP50Ns: Math.Min(rtt.Quantile(0.50), worstRtt),
            RttP99Ns: Math.Min(rtt.Quantile(0.99), worstRtt),
            RttMaxNs: rtt.Count > 0 ? worstRtt : 0,
            DominantSegment: dominant,
            DominantLeg: PathSummaryBuilder.DominantLeg(slow ? slowLegs : answeredLegs, dominant),
            FirstTsNs: probes > 0 ? first : 0,
            LastTsNs: probes > 0 ? last : 0,
            WorstProbeId: worstId,
            Verdicts: verdicts.OrderByDescending(static v => v.Value).ThenBy(static v => v.Key, StringComparer.Ordinal)
                .Select(static v => new VerdictShare(v.Key, (uint)Math.Min(v.Value, uint.MaxValue))).ToArray())
        {
            RttP90Ns = Math.Min(rtt.Quantile(0.90), worstRtt),
        };
    }
}
