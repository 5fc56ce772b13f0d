using Grpc.Core;
using HopCapture.Analysis.Legs;
using HopCapture.Analysis.Segments;
using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Hosting;
using HopCapture.Protos;

namespace HopCapture.Correlator.Query;

public sealed partial class QueryService
{
    public const int DefaultAlertWindowHours = 24;

    /// <summary>Pending alerts (live, not stored), firing ones and those resolved since the window start.</summary>
    public override Task<ListAlertsResponse> ListAlerts(ListAlertsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);

        // Resolved from the request's services, so the query service's constructor stays as the
        // other features left it.
        var services = context.GetHttpContext().RequestServices;
        var alerts = services.GetRequiredService<AlertService>();
        var store = services.GetRequiredService<IAlertStore>();
        var now = services.GetRequiredService<TimeProvider>().NowNs();
        var since = request.SinceNs != 0 ? request.SinceNs : now - (long)TimeSpan.FromHours(DefaultAlertWindowHours).TotalNanoseconds;
        var limit = request.Limit == 0 ? DefaultLimit : (int)Math.Min(request.Limit, MaxLimit);
        var response = new ListAlertsResponse();
        foreach (var pending in alerts.Active.Where(a => a.State == AlertState.Pending))
        {
            var record = new AlertRecord
            {
                Rule = pending.Rule.Name,
                State = AlertStates.Name(pending.State),
                Summary = pending.Summary,
                Value = pending.Value,
                Unit = pending.Unit,
                StartedNs = pending.StartedNs,
                Path = pending.Path,
                Segment = pending.Rule.Segment,
                Leg = SegmentLegs.Name(pending.Rule.Leg),
                SegmentMatch = SegmentSelector.MatchName(pending.Rule.Selector.Match),
            };
            record.Labels.Add(pending.Labels());
            record.WorstProbes.AddRange(pending.WorstProbes);
            response.Alerts.Add(record);
        }

        response.Alerts.AddRange(Store(() => store.List(since, limit), context.CancellationToken));
        return Task.FromResult(response);
    }
}
