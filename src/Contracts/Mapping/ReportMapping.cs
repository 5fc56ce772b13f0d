using HopCapture.Analysis.Reports;
using HopCapture.Protos;

namespace HopCapture.Contracts.Mapping;

/// <summary>
/// The reports of <see cref="HopCapture.Analysis.Reports"/> on the wire, and the wire's
/// <see cref="ProbeRecord"/> fed to their builders (the correlator's stored records, tests).
/// </summary>
public static class ReportMapping
{
    public static PathSummary ToProto(this PathStats stats)
    {
        ArgumentNullException.ThrowIfNull(stats);
        var summary = new PathSummary
        {
            Src = stats.Src,
            Dst = stats.Dst,
            Probes = stats.Probes,
            Answered = stats.Answered,
            Lost = stats.Lost,
            RttP50Ns = stats.RttP50Ns,
            RttP90Ns = stats.RttP90Ns,
            RttP99Ns = stats.RttP99Ns,
            RttMaxNs = stats.RttMaxNs,
            DominantSegment = stats.DominantSegment,
            DominantLeg = stats.DominantLeg,
            FirstTsNs = stats.FirstTsNs,
            LastTsNs = stats.LastTsNs,
            WorstProbeId = stats.WorstProbeId,
        };
        foreach (var share in stats.Verdicts)
        {
            summary.Verdicts.Add(new SegmentShare { Kind = share.Kind, Probes = share.Probes });
        }

        return summary;
    }

    public static ListLossResponse ToProto(this LossReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var response = new ListLossResponse();
        foreach (var path in report.Paths)
        {
            var loss = new PathLoss
            {
                Src = path.Src,
                Dst = path.Dst,
                Probes = path.Probes,
                Lost = path.Lost,
                Rate = path.Rate,
                FirstTsNs = path.FirstTsNs,
                LastTsNs = path.LastTsNs,
            };
            foreach (var place in path.Places)
            {
                loss.Places.Add(new LossPlace { Segment = place.Segment, Leg = place.Leg, After = place.After, Lost = place.Lost, Rate = place.Rate });
            }

            response.Paths.Add(loss);
        }

        return response;
    }

    public static ListFreezesResponse ToProto(this FreezeReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var response = new ListFreezesResponse();
        foreach (var (src, dst, icmpId, freeze) in report.Freezes)
        {
            response.Freezes.Add(new FreezeInfo
            {
                Src = src,
                Dst = dst,
                IcmpId = icmpId,
                FirstSeq = freeze.FirstSeq,
                LastSeq = freeze.LastSeq,
                StartNs = freeze.StartNs,
                EndNs = freeze.EndNs,
                DurationNs = freeze.DurationNs,
                Lost = (uint)freeze.Lost,
                Unseen = (uint)freeze.Unseen,
                Segment = freeze.Segment,
                Leg = freeze.Leg,
                After = freeze.After,
                Ongoing = freeze.Ongoing,
                Silence = freeze.Silence,
            });
        }

        foreach (var series in report.Series)
        {
            response.Series.Add(new FreezeSeries
            {
                Src = series.Src,
                Dst = series.Dst,
                IcmpId = series.IcmpId,
                Freezes = (uint)series.Freezes,
                Periodic = series.Periodic,
                PeriodNs = series.PeriodNs,
                SpreadNs = series.SpreadNs,
                MeanLost = series.MeanLost,
                IntervalNs = series.IntervalNs,
                Segment = series.Segment,
            });
        }

        return response;
    }

    /// <summary>Summaries of <paramref name="records"/> grouped by path, ordered by src then dst (ordinal).</summary>
    public static List<PathSummary> Summarize(IEnumerable<ProbeRecord> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        var builders = new Dictionary<(string Src, string Dst), PathSummaryBuilder>();
        foreach (var record in records)
        {
            if (!builders.TryGetValue((record.Src, record.Dst), out var builder))
            {
                builder = new PathSummaryBuilder(record.Src, record.Dst);
                builders.Add((record.Src, record.Dst), builder);
            }

            builder.Add(record);
        }

        var stats = builders.Values.Select(static b => b.Build()).ToList();
        stats.Sort(PathStats.Order);
        return stats.ConvertAll(static s => s.ToProto());
    }

    public static void Add(this PathSummaryBuilder builder, ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(record);
        builder.Add(record.Id, record.FirstTsNs, record.RttNs, record.Answered, record.Verdict?.Kind ?? "", record.Verdict?.CostNs ?? 0, record.VerdictLeg());
    }

    /// <summary>The leg of the verdict's segment ("request", "reply", "both", "unknown"), "" when there is none.</summary>
    public static string VerdictLeg(this ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Verdict is { Segment: >= 0 } verdict && verdict.Segment < record.Segments.Count
            ? record.Segments[verdict.Segment].Leg
            : "";
    }

    public static void Add(this LossReportBuilder builder, ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(record);
        builder.Add(record.Src, record.Dst, record.FirstTsNs, record.Answered, record.LostIn, record.LostLeg, record.LostAfter);
    }

    public static void Add(this FreezeReportBuilder builder, ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(record);
        builder.Add(record.Src, record.Dst, record.Key?.IcmpId ?? 0, (ushort)(record.Key?.IcmpSeq ?? 0), record.FirstTsNs,
            record.Answered, record.LostIn, record.LostLeg, record.LostAfter);
    }
}
