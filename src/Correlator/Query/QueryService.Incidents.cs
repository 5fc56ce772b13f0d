using Grpc.Core;
using HopCapture.Correlator.Causes;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Incidents;
using HopCapture.Protos;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Query;

public sealed partial class QueryService
{
    public const int DefaultIncidentWindowHours = 24;

    /// <summary>The default window of <c>capture top</c>: long enough to see a burst next to quiet.</summary>
    public static readonly TimeSpan DefaultTrafficWindow = TimeSpan.FromSeconds(10);

    /// <summary>Incidents opened in the window (default the last 24 h), newest first, without traffic windows.</summary>
    public override Task<ListIncidentsResponse> ListIncidents(ListIncidentsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var services = context.GetHttpContext().RequestServices;
        var now = services.GetRequiredService<TimeProvider>().NowNs();
        var since = request.SinceNs != 0 ? request.SinceNs : now - (long)TimeSpan.FromHours(DefaultIncidentWindowHours).TotalNanoseconds;
        var limit = request.Limit == 0 ? DefaultLimit : (int)Math.Min(request.Limit, MaxLimit);
        var response = new ListIncidentsResponse();
        response.Incidents.AddRange(Store(() => services.GetRequiredService<IncidentStore>().List(since, limit), context.CancellationToken));
        return Task.FromResult(response);
    }

    public override Task<IncidentRecord> GetIncident(GetIncidentRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var store = context.GetHttpContext().RequestServices.GetRequiredService<IncidentStore>();
        var causes = context.GetHttpContext().RequestServices.GetRequiredService<FreezeCauses>();
        return Task.FromResult(Store(() => store.Get(request.Id) is { } incident ? Explained(causes, incident, context.CancellationToken) : null, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"no incident {request.Id} ('capture incidents' lists them)")));
    }

    /// <summary>The incident with the host evidence of its segment's ends and cause hints (issue 15).</summary>
    private static IncidentRecord Explained(FreezeCauses causes, IncidentRecord incident, CancellationToken cancellationToken)
    {
        causes.Explain(incident, cancellationToken);
        return incident;
    }

    /// <summary>Asks one agent for its accounting now (or of a past window it still holds), like iftop.</summary>
    public override async Task<GetTrafficResponse> GetTraffic(GetTrafficRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrWhiteSpace(request.Node))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a node is required (--node)"));
        }

        if (request.WindowNs < 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "the window must be positive"));
        }

        var services = context.GetHttpContext().RequestServices;
        var options = services.GetRequiredService<IOptions<IncidentOptions>>().Value;
        var to = request.AtNs != 0 ? request.AtNs : services.GetRequiredService<TimeProvider>().NowNs();
        var from = to - (request.WindowNs != 0 ? request.WindowNs : (long)DefaultTrafficWindow.TotalNanoseconds);
        var target = new TrafficTarget(request.Node, request.Iface.Length > 0 ? [request.Iface] : [], []);
        var (windows, problems) = await services.GetRequiredService<TrafficCollector>().CollectAsync(
            [target], from, to, request.Top == 0 ? options.TopFlows : (int)Math.Min(request.Top, 1000), options.AgentTimeout, context.CancellationToken);
        if (windows.Count == 0 && problems.Count > 0)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, string.Join("; ", problems)));
        }

        var response = new GetTrafficResponse();
        response.Windows.AddRange(windows);
        return response;
    }

    /// <summary>A time slice of an interface's rolling packet capture on its agent, as pcapng.</summary>
    public override async Task<PcapSlice> GetPcap(GetPcapRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrWhiteSpace(request.Node) || string.IsNullOrWhiteSpace(request.Iface))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "a node and an interface are required (--node, --iface)"));
        }

        if (request.ToNs <= request.FromNs)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "--to must be after --from"));
        }

        var services = context.GetHttpContext().RequestServices;
        var options = services.GetRequiredService<IOptions<IncidentOptions>>().Value;
        var slice = new PcapSliceRequest { Iface = request.Iface, FromNs = request.FromNs, ToNs = request.ToNs };
        var (result, problem) = await services.GetRequiredService<TrafficCollector>().SendAsync(
            request.Node, new Control { PcapSlice = slice }, options.AgentTimeout, context.CancellationToken);
        if (result?.PcapSlice is not { } answer)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, problem ?? $"{request.Node}: no pcap slice in the answer"));
        }

        if (answer.Error.Length > 0)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, $"{request.Node}: {answer.Error}"));
        }

        answer.Node = request.Node;
        return answer;
    }
}
