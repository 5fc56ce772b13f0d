using HopCapture.Correlator.Hosting;
using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage;

/// <summary>Already validated probe filter; addresses are in their printable canonical form.</summary>
public sealed record ProbeFilter(
    string? Src = null,
    string? Dst = null,
    long SinceNs = 0,
    long UntilNs = 0,
    long MinRttNs = 0,
    bool LostOnly = false,
    bool OrderByRtt = false,
    int Limit = 100);

/// <summary>Lookup of one probe by its identity; <see cref="IcmpId"/> -1 = any, <see cref="NearNs"/> 0 = newest.</summary>
public sealed record ProbeLookupKey(string Src, string Dst, int IcmpSeq, int IcmpId, long NearNs);

/// <summary>The read side of the store: what the query API asks, on any backend.</summary>
public sealed class ProbeQueries(IResultsStore store, TimeProvider? timeProvider = null)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;

    /// <summary>Probes whose rtt is above this count as slow for the dominant segment.</summary>
    public const long SlowProbeNs = PathSummaryBuilder.SlowProbeNs;

    public (IReadOnlyList<ProbeRecord> Probes, long Matched) ListProbes(ProbeFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using var session = store.OpenRead(cancellationToken);
        var matched = session.CountProbes(filter);
        return matched == 0 ? ([], 0) : (session.ReadProbes(filter).ToList(), matched);
    }

    public ProbeRecord? GetById(long id, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenRead(cancellationToken);
        return session.GetById(id);
    }

    public ProbeRecord? Lookup(ProbeLookupKey key, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenRead(cancellationToken);
        return session.Lookup(key);
    }

    /// <summary>One summary per path, from raw probes or rollups (<see cref="WindowPlan"/>), and the resolution used.</summary>
    public (IReadOnlyList<PathSummary> Paths, string Resolution) ListPaths(long sinceNs, long untilNs, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenRead(cancellationToken);
        var plan = WindowPlan.For(session, sinceNs, untilNs, _time.NowNs());
        return plan.Raw ? (RawPaths(session, sinceNs, untilNs), plan.Resolution) : (RollupSummaries.Paths(plan.Rows(session, null, null)), plan.Resolution);
    }

    private static List<PathSummary> RawPaths(IStoreReadSession session, long sinceNs, long untilNs)
    {
        var paths = new List<PathSummary>();
        PathSummaryBuilder? current = null;
        foreach (var row in session.PathRows(sinceNs, untilNs))
        {
            if (current is null || current.Src != row.Src || current.Dst != row.Dst)
            {
                if (current is not null)
                {
                    paths.Add(current.Build().ToProto());
                }

                current = new PathSummaryBuilder(row.Src, row.Dst);
            }

            current.Add(row.Id, row.FirstTsNs, row.RttNs, row.Answered, row.VerdictKind, row.VerdictCostNs, row.VerdictLeg);
        }

        if (current is not null)
        {
            paths.Add(current.Build().ToProto());
        }

        return paths;
    }
}
