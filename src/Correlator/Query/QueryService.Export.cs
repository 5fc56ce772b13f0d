using Grpc.Core;
using HopCapture.Correlator.Inventory;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;

namespace HopCapture.Correlator.Query;

public sealed partial class QueryService
{
    /// <summary>Probes read from the store per page: all an export holds in memory at once.</summary>
    public const int ExportPageSize = 1_000;

    /// <summary>A page is sent in chunks of about this size, well under a client's default 4 MiB message limit.</summary>
    public const int ExportChunkBytes = 1 << 20;

    /// <summary>
    /// Every matching probe, newest first, written page by page as <see cref="ProbeQueries.Pages"/>
    /// reads them. Each write is awaited, so a caller that reads slowly slows the reads (HTTP/2
    /// flow control) instead of filling memory; the caller's cancellation or deadline stops the
    /// running page's statement and the paging, as does the correlator stopping.
    /// </summary>
    public override async Task ExportProbes(ExportProbesRequest request, IServerStreamWriter<ProbeExportChunk> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var filter = Filter(request.Path, request.SinceNs, request.UntilNs, request.MinRttNs, request.LostOnly, orderByRtt: false, limit: 0);
        var exports = context.GetHttpContext().RequestServices.GetRequiredService<ProbeExports>();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var cancellationToken = linked.Token;
        var sent = 0L;
        var stopped = false;
        exports.Started();
        try
        {
            using var pages = queries.Pages(filter, ExportPageSize, cancellationToken).GetEnumerator();
            while (Store(pages.MoveNext, cancellationToken))
            {
                var chunk = new ProbeExportChunk();
                var bytes = 0;
                foreach (var probe in pages.Current)
                {
                    var size = inventory.Decorate(probe).CalculateSize();
                    if (chunk.Probes.Count > 0 && bytes + size > ExportChunkBytes)
                    {
                        await responseStream.WriteAsync(chunk, cancellationToken);
                        chunk = new ProbeExportChunk();
                        bytes = 0;
                    }

                    chunk.Probes.Add(probe);
                    bytes += size;
                }

                await responseStream.WriteAsync(chunk, cancellationToken);
                sent += pages.Current.Count;
                exports.Sent(pages.Current.Count);
            }
        }
        catch (Exception) when (cancellationToken.IsCancellationRequested)
        {
            // Whatever the stop surfaced as (an interrupted statement, a cancelled write): nobody reads on.
            stopped = true;
            Log.ExportStopped(logger, context.Peer, sent);
            throw new RpcException(context.CancellationToken.IsCancellationRequested
                ? new Status(StatusCode.Cancelled, "the caller gave up; the export was stopped")
                : new Status(StatusCode.Unavailable, "the correlator is stopping; the export was cut short"));
        }
        finally
        {
            exports.Ended(stopped);
        }

        Log.Exported(logger, context.Peer, sent);
    }
}
