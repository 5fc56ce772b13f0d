using Grpc.Core;
using HopCapture.Correlator.Probing;
using HopCapture.Protos;

namespace HopCapture.Correlator.Query;

public sealed partial class QueryService
{
    /// <summary>An on-demand probe run: progress while it runs, then the report.</summary>
    public override async Task Trace(TraceRunRequest request, IServerStreamWriter<TraceUpdate> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var coordinator = context.GetHttpContext().RequestServices.GetRequiredService<TraceCoordinator>();
        var report = await coordinator.RunAsync(
            request,
            progress => responseStream.WriteAsync(new TraceUpdate { Progress = progress }, context.CancellationToken),
            context.CancellationToken);
        await responseStream.WriteAsync(new TraceUpdate { Report = report }, context.CancellationToken);
    }
}
