using System.Globalization;
using Grpc.Core;
using HopCapture.Correlator.Causes;
using HopCapture.Protos;

namespace HopCapture.Correlator.Query;

public sealed partial class QueryService
{
    public const int DefaultEvidenceLimit = 1000;

    /// <summary>`capture host`: one node's host evidence timeline (issue 15).</summary>
    public override Task<ListHostEvidenceResponse> ListHostEvidence(ListHostEvidenceRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        CheckWindow(request.SinceNs, request.UntilNs);
        if (string.IsNullOrWhiteSpace(request.Node))
        {
            throw Invalid("node is required: whose host evidence to list");
        }

        var store = context.GetHttpContext().RequestServices.GetRequiredService<HostEvidenceStore>();
        var limit = request.Limit == 0 ? DefaultEvidenceLimit : (int)Math.Min(request.Limit, MaxLimit);
        var (evidence, truncated) = Store(() => store.List(request.Node.Trim(), request.Iface.Trim(), request.SinceNs, request.UntilNs, limit, context.CancellationToken), context.CancellationToken);
        if (evidence.Count == 0 && !registry.Snapshot().Any(a => a.Node == request.Node.Trim()))
        {
            throw new RpcException(new Status(StatusCode.NotFound,
                $"no agent '{request.Node.Trim().ToString(CultureInfo.InvariantCulture)}' has connected and no host evidence of it is stored"));
        }

        var response = new ListHostEvidenceResponse { Truncated = truncated };
        response.Evidence.AddRange(evidence);
        return Task.FromResult(response);
    }

    /// <summary>Freezes with the host evidence of their segment and cause hints.</summary>
    private static ListFreezesResponse WithCauses(ListFreezesResponse response, ServerCallContext context)
    {
        context.GetHttpContext().RequestServices.GetRequiredService<FreezeCauses>().Explain(response, context.CancellationToken);
        return response;
    }

    /// <summary>A lost probe with the host evidence of the segment it vanished in and cause hints.</summary>
    private static ProbeRecord WithCauses(ProbeRecord probe, ServerCallContext context)
    {
        context.GetHttpContext().RequestServices.GetRequiredService<FreezeCauses>().Explain(probe, context.CancellationToken);
        return probe;
    }
}
