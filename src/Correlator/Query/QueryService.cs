using System.Globalization;
using Grpc.Core;
using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Ingest;
using HopCapture.Correlator.Inventory;
using HopCapture.Correlator.Loss;
using HopCapture.Correlator.Storage;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using System.Data.Common;

namespace HopCapture.Correlator.Query;

/// <summary>The query API `capture` talks to.</summary>
public sealed partial class QueryService(
    ProbeQueries queries,
    LossQueries lossQueries,
    AgentRegistry registry,
    EngineHost engine,
    StoredProbeBus stored,
    VmInventory inventory,
    StoreHealth storeHealth,
    IHostApplicationLifetime lifetime,
    ILogger<QueryService> logger) : Protos.Query.QueryBase
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 10_000;

    public override Task<ListAgentsResponse> ListAgents(ListAgentsRequest request, ServerCallContext context)
    {
        var counters = engine.Counters;
        var response = new ListAgentsResponse
        {
            Engine = new EngineStats
            {
                Observations = (ulong)counters.Observations,
                ProbesFinalized = (ulong)counters.Finalized,
                InFlight = (ulong)engine.InFlight,
                InFlightCap = (ulong)engine.MaxInFlight,
                Evicted = (ulong)counters.Evicted,
                Late = (ulong)counters.Late,
                Duplicates = (ulong)counters.Duplicates,
                Rejected = (ulong)registry.Rejected,
                HeldBack = (ulong)engine.HeldBack,
            },
        };
        response.Agents.AddRange(registry.Snapshot().Select(inventory.Decorate));
        response.StoreFaults.AddRange(storeHealth.Faults.Select(f => new StoreFaultInfo
        {
            Part = Alerts.StoreUnwritableMonitor.PartLabel(f.Part),
            Problem = f.Problem,
            SinceNs = f.SinceNs,
        }));
        ClockView.Fill(response, engine.Offsets, engine.Catalog);
        return Task.FromResult(response);
    }

    public override Task<ListPathsResponse> ListPaths(ListPathsRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckWindow(request.SinceNs, request.UntilNs);
        var (paths, resolution) = Store(() => queries.ListPaths(request.SinceNs, request.UntilNs, context.CancellationToken), context.CancellationToken);
        var response = new ListPathsResponse { Resolution = resolution };
        response.Paths.AddRange(paths.Select(inventory.Decorate));

        return Task.FromResult(response);
    }

    public override Task<ListProbesResponse> ListProbes(ListProbesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var order = request.Order.Trim().ToLowerInvariant();
        if (order is not ("" or "time" or "rtt"))
        {
            throw Invalid($"order must be 'time' or 'rtt', got '{request.Order}'");
        }

        var filter = Filter(request.Path, request.SinceNs, request.UntilNs, request.MinRttNs, request.LostOnly, order == "rtt",
            request.Limit == 0 ? DefaultLimit : (int)Math.Min(request.Limit, MaxLimit));
        var (probes, matched) = Store(() => queries.ListProbes(filter, context.CancellationToken), context.CancellationToken);
        var response = new ListProbesResponse { Matched = (ulong)matched };
        response.Probes.AddRange(probes.Select(inventory.Decorate));
        return Task.FromResult(response);
    }

    public override Task<ProbeRecord> GetProbe(GetProbeRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        switch (request.ByCase)
        {
            case GetProbeRequest.ByOneofCase.Id:
                var id = request.Id;
                return Task.FromResult(Store(() => WithCauses(inventory.Decorate(queries.GetById(id, context.CancellationToken)
                    ?? throw new RpcException(new Status(StatusCode.NotFound, queries.Missing(id, context.CancellationToken)))), context), context.CancellationToken));
            case GetProbeRequest.ByOneofCase.Lookup:
                var lookup = request.Lookup;
                var src = Address(lookup.Path?.Src, "lookup.path.src");
                var dst = Address(lookup.Path?.Dst, "lookup.path.dst");
                if (src is null || dst is null)
                {
                    throw Invalid("a lookup needs both path.src and path.dst (the echo request's source and destination)");
                }

                if (lookup.IcmpSeq > ushort.MaxValue)
                {
                    throw Invalid($"icmp_seq {lookup.IcmpSeq.ToString(CultureInfo.InvariantCulture)} exceeds 65535");
                }

                if (lookup.IcmpId is < -1 or > ushort.MaxValue)
                {
                    throw Invalid($"icmp_id {lookup.IcmpId.ToString(CultureInfo.InvariantCulture)} must be -1 (any) or 0-65535");
                }

                var key = new ProbeLookupKey(src, dst, (int)lookup.IcmpSeq, (int)lookup.IcmpId, lookup.NearNs);
                var what = $"{src} > {dst} seq {key.IcmpSeq.ToString(CultureInfo.InvariantCulture)}" +
                           (key.IcmpId >= 0 ? $" id {key.IcmpId.ToString(CultureInfo.InvariantCulture)}" : " (any id)");
                return Task.FromResult(Store(() => WithCauses(inventory.Decorate(queries.Lookup(key, context.CancellationToken)
                    ?? throw new RpcException(new Status(StatusCode.NotFound, $"no probe {what} is stored"))), context), context.CancellationToken));
            default:
                throw Invalid("give a probe id or a lookup (src, dst, seq)");
        }
    }

    public override async Task Watch(WatchRequest request, IServerStreamWriter<ProbeRecord> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var src = Address(request.Path?.Src, "path.src");
        var dst = Address(request.Path?.Dst, "path.dst");
        var minRtt = request.MinRttNs;
        using var subscription = stored.Subscribe(p =>
            (src is null || p.Src == src) && (dst is null || p.Dst == dst) && (minRtt <= 0 || p.RttNs >= minRtt));
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            await foreach (var item in subscription.Reader.ReadAllAsync(linked.Token))
            {
                // A record of its own: labels go on it, not on anything the bus's other readers share.
                await responseStream.WriteAsync(inventory.Decorate(item.ToRecord()), linked.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Client gone or correlator stopping: the stream simply ends.
        }
        finally
        {
            if (subscription.Dropped > 0)
            {
                Log.WatchDropped(logger, context.Peer, subscription.Dropped);
            }
        }
    }

    public override Task<ListLossResponse> ListLoss(ListLossRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckWindow(request.SinceNs, request.UntilNs);
        var src = Address(request.Path?.Src, "path.src");
        var dst = Address(request.Path?.Dst, "path.dst");
        return Task.FromResult(Store(() => lossQueries.ListLoss(src, dst, request.SinceNs, request.UntilNs, context.CancellationToken), context.CancellationToken));
    }

    public override Task<ListFreezesResponse> ListFreezes(ListFreezesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        CheckWindow(request.SinceNs, request.UntilNs);
        var src = Address(request.Path?.Src, "path.src");
        var dst = Address(request.Path?.Dst, "path.dst");
        var minLost = request.MinLost == 0 ? Analysis.Loss.PingRun.DefaultMinLost : (int)Math.Min(request.MinLost, 65_535);
        return Task.FromResult(Store(() => WithCauses(lossQueries.ListFreezes(src, dst, request.SinceNs, request.UntilNs, minLost, context.CancellationToken), context), context.CancellationToken));
    }

    /// <summary>The probe filter ListProbes and ExportProbes share, validated (InvalidArgument naming the field).</summary>
    private static ProbeFilter Filter(PathFilter? path, long sinceNs, long untilNs, long minRttNs, bool lostOnly, bool orderByRtt, int limit)
    {
        CheckWindow(sinceNs, untilNs);
        if (minRttNs < 0)
        {
            throw Invalid($"min_rtt_ns must not be negative, got {minRttNs.ToString(CultureInfo.InvariantCulture)}");
        }

        return new ProbeFilter(Address(path?.Src, "path.src"), Address(path?.Dst, "path.dst"), sinceNs, untilNs, minRttNs, lostOnly, orderByRtt, limit);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    private static void CheckWindow(long sinceNs, long untilNs)
    {
        if (sinceNs != 0 && untilNs != 0 && sinceNs > untilNs)
        {
            throw Invalid("since_ns is after until_ns: the time window is empty");
        }
    }

    /// <summary>The canonical printable form stored in the src/dst columns; null for "any".</summary>
    private static string? Address(string? text, string field)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        if (!IpAddress128.TryParse(text.Trim(), out var address))
        {
            throw Invalid($"{field} '{text}' is not an IP address");
        }

        return IpAddress128.Format(address);
    }

    private T Store<T>(Func<T> query, CancellationToken cancellationToken)
    {
        try
        {
            return query();
        }
        catch (DbException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up (deadline, Ctrl-C): the scan was stopped, nobody waits for an answer.
            throw new RpcException(new Status(StatusCode.Cancelled, "the caller gave up; the query was stopped"));
        }
        catch (OperationCanceledException)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "the caller gave up before the query started"));
        }
        catch (DbException ex)
        {
            Log.QueryFailed(logger, ex);
            throw new RpcException(new Status(StatusCode.Unavailable, $"the results store failed: {ex.Message}"));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "A query on the results store failed")]
        public static partial void QueryFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Watch from {Peer} dropped {Dropped} probes (slow reader)")]
        public static partial void WatchDropped(ILogger logger, string peer, long dropped);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Information, Message = "Export to {Peer} done: {Probes} probes")]
        public static partial void Exported(ILogger logger, string peer, long probes);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Information, Message = "Export to {Peer} stopped after {Probes} probes: the caller gave up or the correlator is stopping")]
        public static partial void ExportStopped(ILogger logger, string peer, long probes);
    }
}
