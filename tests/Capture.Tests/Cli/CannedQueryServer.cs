using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using HopCapture.Protos;
using HopCapture.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HopCapture.Tests.Cli;

/// <summary>
/// A real gRPC server on loopback serving the Query contract with fixed answers (field report
/// 003's probe), so the CLI's success paths run over real HTTP/2 before the correlator's query
/// service is merged. It records the requests it receives.
/// </summary>
internal sealed class CannedQueryServer : IAsyncDisposable
{
    private readonly WebApplication _app;

    private CannedQueryServer(WebApplication app, CannedQueryService service, string url)
    {
        _app = app;
        Service = service;
        Url = url;
    }

    public CannedQueryService Service { get; }

    public string Url { get; }

    public static async Task<CannedQueryServer> StartAsync()
    {
        var service = new CannedQueryService();
        var (app, port) = await LoopbackGrpcHost.StartAsync<CannedQueryService>(services => services.AddSingleton(service));
        return new CannedQueryServer(app, service, $"http://127.0.0.1:{port}");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        await _app.DisposeAsync();
    }
}

internal sealed class CannedQueryService : Query.QueryBase
{
    public ConcurrentQueue<Google.Protobuf.IMessage> Requests { get; } = new();

    /// <summary>How long ListPaths thinks before answering (a slow query over a long window).</summary>
    public TimeSpan PathsDelay { get; set; }

    /// <summary>Set when a ListPaths call saw its caller give up (deadline or cancel) while thinking.</summary>
    public TaskCompletionSource PathsAbandoned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static ListProbesResponse Probes()
    {
        var response = new ListProbesResponse { Matched = 57 };
        response.Probes.Add(Seed003.Probe());
        response.Probes.Add(Seed003.ReplyLostInFabric());
        return response;
    }

    public override Task<ListProbesResponse> ListProbes(ListProbesRequest request, ServerCallContext context)
    {
        Requests.Enqueue(request);
        return Task.FromResult(Probes());
    }

    public override async Task<ListPathsResponse> ListPaths(ListPathsRequest request, ServerCallContext context)
    {
        Requests.Enqueue(request);
        if (PathsDelay > TimeSpan.Zero)
        {
            try
            {
                await Task.Delay(PathsDelay, context.CancellationToken);
            }
            catch (OperationCanceledException)
            {
                PathsAbandoned.TrySetResult();
                throw;
            }
        }

        var response = new ListPathsResponse();
        response.Paths.Add(new PathSummary
        {
            Src = "192.168.47.111", Dst = "192.168.47.127", Probes = 116, Answered = 116,
            RttP50Ns = 198_000, RttP99Ns = 120_554_000, RttMaxNs = 120_569_000, DominantSegment = "fabric", WorstProbeId = 42,
        });
        return response;
    }

    public override Task<ProbeRecord> GetProbe(GetProbeRequest request, ServerCallContext context)
    {
        Requests.Enqueue(request);
        return request.ByCase == GetProbeRequest.ByOneofCase.Id && request.Id != 42
            ? throw new RpcException(new Status(StatusCode.NotFound, $"no probe with id {request.Id}"))
            : Task.FromResult(Seed003.Probe());
    }

    /// <summary>Set when an ExportProbes call saw its caller give up (deadline, stall or cancel) while it stalled.</summary>
    public TaskCompletionSource ExportAbandoned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The deadline the last ExportProbes call arrived with (null: none).</summary>
    public DateTime? ExportDeadline { get; private set; }

    /// <summary>Sends one chunk (the two canned probes), then stalls like a wedged correlator.</summary>
    public override async Task ExportProbes(ExportProbesRequest request, IServerStreamWriter<ProbeExportChunk> responseStream, ServerCallContext context)
    {
        Requests.Enqueue(request);
        ExportDeadline = context.Deadline == DateTime.MaxValue ? null : context.Deadline;
        var chunk = new ProbeExportChunk();
        chunk.Probes.Add(Probes().Probes);
        await responseStream.WriteAsync(chunk, context.CancellationToken);
        try
        {
            await Task.Delay(TimeSpan.FromMinutes(1), context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            ExportAbandoned.TrySetResult();
            throw;
        }
    }

    /// <summary>Sends seq 1..5 for any path but 10.77.0.9, then holds the stream open like a quiet correlator.</summary>
    public override async Task Watch(WatchRequest request, IServerStreamWriter<ProbeRecord> responseStream, ServerCallContext context)
    {
        Requests.Enqueue(request);
        if (request.Path?.Src != "10.77.0.9")
        {
            for (uint seq = 1; seq <= 5; seq++)
            {
                var probe = Seed003.Probe();
                probe.Key.IcmpSeq = seq;
                await responseStream.WriteAsync(probe, context.CancellationToken);
            }
        }

        try
        {
            await Task.Delay(TimeSpan.FromMinutes(1), context.CancellationToken);
        }
        catch (OperationCanceledException)
        {
            // The client went away: the normal end of a watch.
        }
    }
}
