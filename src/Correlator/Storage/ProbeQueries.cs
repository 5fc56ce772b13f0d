using System.Globalization;
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
    int Limit = 100,
    ProbeCursor? After = null,
    long ThroughId = 0)
{
    /// <summary>
    /// The upper end of the arrival window a read touches: a keyset page never reaches above its
    /// cursor's arrival, so backends prune the partitions (and the index range) to it.
    /// </summary>
    public long ReadUntilNs => After is not { } after ? UntilNs
        : UntilNs == 0 ? after.ArrivalNs : Math.Min(UntilNs, after.ArrivalNs);
}

/// <summary>
/// Where a keyset page of newest-first probes starts: strictly after this probe in the order
/// (arrival_ns, first_ts_ns, id) descending. With <see cref="ProbeFilter.ThroughId"/> (probes with
/// a larger id left out; 0 = no bound) an export reads what was stored when it began.
/// </summary>
public readonly record struct ProbeCursor(long ArrivalNs, long FirstTsNs, long Id)
{
    public static ProbeCursor Of(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return new ProbeCursor(record.ArrivalNs, record.FirstTsNs, record.Id);
    }
}

/// <summary>Lookup of one probe by its identity; <see cref="IcmpId"/> -1 = any, <see cref="NearNs"/> 0 = newest.</summary>
public sealed record ProbeLookupKey(string Src, string Dst, int IcmpSeq, int IcmpId, long NearNs);

/// <summary>The read side of the store: what the query API asks, on any backend.</summary>
public sealed class ProbeQueries(IResultsStore store, TimeProvider? timeProvider = null, long rawProbeLimit = WindowPlan.DefaultRawProbeLimit)
{
    private readonly TimeProvider _time = timeProvider ?? TimeProvider.System;
    private long _pagesRead;

    /// <summary>Probes whose rtt is above this count as slow for the dominant segment.</summary>
    public const long SlowProbeNs = PathSummaryBuilder.SlowProbeNs;

    public (IReadOnlyList<ProbeRecord> Probes, long Matched) ListProbes(ProbeFilter filter, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        using var session = store.OpenRead(cancellationToken);
        var matched = session.CountProbes(filter);
        return matched == 0 ? ([], 0) : (session.ReadProbes(filter).ToList(), matched);
    }

    /// <summary>
    /// Pages <see cref="Pages"/> has read from the store since start: against the pages an export
    /// sent, it shows the reads keep pace with the caller (no read-ahead) and stop when it stops.
    /// </summary>
    public long PagesRead => Interlocked.Read(ref _pagesRead);

    /// <summary>
    /// Every probe matching <paramref name="filter"/> (its Limit, order and cursor ignored),
    /// newest first, in pages of at most <paramref name="pageSize"/>. Each page is read in its own
    /// short session, starting after the last probe of the page before (keyset), so nothing is
    /// held between pages: a caller that waits (a slow reader) pins no snapshot, no WAL
    /// checkpoint and no partition retention wants to drop. Ids above the newest stored when the
    /// first page is read are left out, so probes stored meanwhile do not slip in below the
    /// cursor. <paramref name="cancellationToken"/> stops a page's statement and the paging.
    /// </summary>
    public IEnumerable<List<ProbeRecord>> Pages(ProbeFilter filter, int pageSize, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentOutOfRangeException.ThrowIfLessThan(pageSize, 1);
        // An upper bound on arrival, even an open one, hands the planner the arrival index's range:
        // the first page walks the index from the top instead of sorting the window (SQLite, a
        // million-probe day: 5.5 s, 0.15 s so).
        var page = filter with { UntilNs = filter.UntilNs == 0 ? long.MaxValue : filter.UntilNs, OrderByRtt = false, Limit = pageSize, After = null, ThroughId = 0 };
        while (true)
        {
            List<ProbeRecord> rows;
            using (var session = store.OpenRead(cancellationToken))
            {
                if (page.ThroughId == 0)
                {
                    var newest = session.LastProbeId;
                    if (newest == 0)
                    {
                        yield break;
                    }

                    page = page with { ThroughId = newest };
                }

                rows = session.ReadProbes(page).ToList();
            }

            Interlocked.Increment(ref _pagesRead);

            if (rows.Count > 0)
            {
                yield return rows;
            }

            if (rows.Count < pageSize)
            {
                yield break;
            }

            page = page with { After = ProbeCursor.Of(rows[^1]) };
        }
    }

    public ProbeRecord? GetById(long id, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenRead(cancellationToken);
        return session.GetById(id);
    }

    /// <summary>
    /// Why no probe has <paramref name="id"/>, in one line: past the newest, or dropped by
    /// retention (a rollup's worst probe can outlive its row; then only the rollups hold its window).
    /// </summary>
    public string Missing(long id, CancellationToken cancellationToken = default)
    {
        using var session = store.OpenRead(cancellationToken);
        var first = session.FirstProbeId;
        var last = session.LastProbeId;
        var what = $"no probe with id {id.ToString(CultureInfo.InvariantCulture)} is stored";
        if (last == 0)
        {
            return what;
        }

        if (id > last)
        {
            return $"{what} (the newest is {last.ToString(CultureInfo.InvariantCulture)})";
        }

        if (first == 0 || id < first)
        {
            var kept = first == 0 ? "none is kept now"
                : $"raw probes are kept from id {first.ToString(CultureInfo.InvariantCulture)}, arrived {UnixTime.Minute(session.RawSinceNs)}";
            return $"{what}: retention dropped it ({kept}; Correlator:Retention); 'capture paths' and 'capture loss' over its window read the rollups";
        }

        return $"{what} (ids {first.ToString(CultureInfo.InvariantCulture)}–{last.ToString(CultureInfo.InvariantCulture)} are kept; this one was not stored)";
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
        var plan = WindowPlan.For(session, sinceNs, untilNs, _time.NowNs(), rawProbeLimit);
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
