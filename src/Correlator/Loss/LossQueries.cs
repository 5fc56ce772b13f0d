using HopCapture.Correlator.Hosting;
using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;

namespace HopCapture.Correlator.Loss;

/// <summary>
/// Loss per path and segment, and freezes, derived from the stored probes at query time: the
/// probes are the record, so a restart keeps every freeze and any window can be asked (windows
/// on arrival time, like every probe query; runs ordered by capture time within a path).
/// </summary>
public sealed class LossQueries(IResultsStore store, TimeProvider? timeProvider = null, long rawProbeLimit = WindowPlan.DefaultRawProbeLimit)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    public ListLossResponse ListLoss(string? src, string? dst, long sinceNs, long untilNs, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenRead(cancellationToken);
        var plan = WindowPlan.For(session, sinceNs, untilNs, _time.NowNs(), rawProbeLimit);
        if (!plan.Raw)
        {
            var rolled = RollupSummaries.Loss(plan.Rows(session, src, dst));
            rolled.Resolution = plan.Resolution;
            return rolled;
        }

        var builder = new LossReportBuilder();
        foreach (var row in session.LossRows(src, dst, sinceNs, untilNs, orderByRun: false))
        {
            builder.Add(row.Src, row.Dst, row.FirstTsNs, row.Answered, row.LostIn, row.LostLeg, row.LostAfter);
        }

        var response = builder.Build().ToProto();
        response.Resolution = plan.Resolution;
        return response;
    }

    public ListFreezesResponse ListFreezes(string? src, string? dst, long sinceNs, long untilNs, int minLost, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenRead(cancellationToken);
        var plan = WindowPlan.For(session, sinceNs, untilNs, _time.NowNs(), rawProbeLimit);
        if (!plan.Raw)
        {
            // Runs of lost pings need every probe: from rollups, freezes are runs of lossy buckets.
            var rolled = RollupSummaries.Freezes(session, plan, src, dst, minLost);
            rolled.Resolution = plan.Resolution;
            return rolled;
        }

        var builder = new FreezeReportBuilder(minLost);
        (string Src, string Dst, uint Id)? key = null;
        foreach (var row in session.LossRows(src, dst, sinceNs, untilNs, orderByRun: true))
        {
            // Rows come ordered by run: detect on each run as it ends, so memory follows one run, not the window.
            var rowKey = (row.Src, row.Dst, row.IcmpId);
            if (key != rowKey)
            {
                builder.Flush();
                key = rowKey;
            }

            builder.Add(row.Src, row.Dst, row.IcmpId, row.Seq, row.FirstTsNs, row.Answered, row.LostIn, row.LostLeg, row.LostAfter);
        }

        var response = builder.Build().ToProto();
        response.Resolution = plan.Resolution;
        return response;
    }
}
