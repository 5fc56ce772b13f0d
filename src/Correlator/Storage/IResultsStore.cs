using HopCapture.Correlator.Journal;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// The results store as the correlator sees it, whatever holds it (SQLite file, PostgreSQL
/// server): one writer session (the store writer's), any number of read sessions, the agents
/// table and the journal checkpoint. Failures surface as <see cref="System.Data.Common.DbException"/>
/// (or <see cref="OperationCanceledException"/>), which the query API maps to status codes.
/// </summary>
public interface IResultsStore
{
    /// <summary>Where the data lives, for the start-up line and messages ("db /var/lib/x.db").</summary>
    string Location { get; }

    /// <summary>
    /// Creates or migrates the schema; throws <see cref="Hosting.CorrelatorStartupException"/>
    /// naming the configuration key when the store cannot be used (so the port never opens).
    /// </summary>
    void Initialize();

    /// <summary>The store writer's session; only one is open at a time.</summary>
    IStoreWriteSession OpenWriter();

    /// <summary>
    /// A read session on one consistent snapshot. When <paramref name="cancellationToken"/> fires
    /// the running statement stops and fails (<see cref="OperationCanceledException"/> or a
    /// <see cref="System.Data.Common.DbException"/>): a caller who gave up leaves no scan behind.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token had fired already.</exception>
    IStoreReadSession OpenRead(CancellationToken cancellationToken);

    IReadOnlyList<StoredAgent> LoadAgents();

    /// <summary>Inserts or replaces the agent row keyed by <paramref name="node"/>.</summary>
    void UpsertAgent(string node, string instance, long lastSeenNs, Hello hello);

    /// <summary>The journal checkpoint and agent batch seqs as last saved (index 0, no seqs and a fresh DatabaseId on a new store).</summary>
    JournalCheckpoint LoadJournalCheckpoint();
}

/// <summary>
/// The store writer's session. Each method is atomic: it commits entirely or, throwing, changes
/// nothing; after a throw the caller disposes the session and opens another.
/// </summary>
public interface IStoreWriteSession : IDisposable
{
    /// <summary>
    /// Stores <paramref name="records"/> in one transaction and sets each stored one's
    /// <see cref="ProbeRecord.Id"/> (unique and increasing for the life of the store, never
    /// reused after retention). A record whose FirstTsNs is at or before
    /// <paramref name="replayedThroughNs"/> and whose capture identity (src, dst, icmp_id,
    /// icmp_seq, first_ts_ns) is stored already is skipped, its Id left 0 (journal replay:
    /// exactly once). The rollups of the stored ones (<see cref="RollupBook"/>) are updated
    /// in the same transaction. Returns how many were skipped as duplicates.
    /// </summary>
    int Write(IReadOnlyList<ProbeRecord> records, long replayedThroughNs);

    /// <summary>Saves the journal checkpoint and raises each listed agent's seq to at least the given one, in one transaction.</summary>
    void SaveCheckpoint(JournalCheckpoint checkpoint);

    /// <summary>
    /// Retention at <paramref name="nowNs"/>: drops raw probes older than Raw, then the oldest
    /// while over MaxBytes, in whole partitions (never the one holding now), and rollups older
    /// than Rollups, in bulk.
    /// </summary>
    RetentionPass ApplyRetention(long nowNs);
}

/// <summary>
/// Reads on one snapshot. Windows are on arrival_ns (the correlator's clock), inclusive, 0 = open.
/// Enumerables are lazy: they read while the caller iterates and must be drained before dispose.
/// </summary>
public interface IStoreReadSession : IDisposable
{
    /// <summary>Arrival time of the oldest raw probe kept (0 when none is stored): before it only rollups answer.</summary>
    long RawSinceNs { get; }

    /// <summary>Start of the oldest rollup minute kept (0 when none).</summary>
    long RollupsSinceNs { get; }

    /// <summary>Sum of probes over the rollup rows of <paramref name="width"/> with bucket in [sinceNs, untilNs] (0 = open): the cost of a raw answer, cheaply.</summary>
    long RolledUpProbes(RollupWidth width, long sinceNs, long untilNs);

    /// <summary>The largest probe id stored as of this snapshot (0 when none): an export's <see cref="ProbeFilter.ThroughId"/>.</summary>
    long LastProbeId { get; }

    /// <summary>The smallest probe id still stored (0 when none): ids below it were dropped by retention.</summary>
    long FirstProbeId { get; }

    /// <summary>Probes matching <paramref name="filter"/>, ignoring its Limit.</summary>
    long CountProbes(ProbeFilter filter);

    /// <summary>
    /// Matching probes, newest first (arrival_ns, first_ts_ns, id descending) or slowest first
    /// (rtt_ns, id descending), at most Limit (0 = all), each the full record with its Id and
    /// arrival time. With <see cref="ProbeFilter.After"/> (newest first only) the rows after that
    /// cursor: a keyset page.
    /// </summary>
    IEnumerable<ProbeRecord> ReadProbes(ProbeFilter filter);

    ProbeRecord? GetById(long id);

    /// <summary>The probe with this identity nearest <see cref="ProbeLookupKey.NearNs"/> by first_ts_ns (0: the newest), ties to the larger id.</summary>
    ProbeRecord? Lookup(ProbeLookupKey key);

    /// <summary>The window's probes reduced to what a path summary needs, ordered by src, dst (ordinal).</summary>
    IEnumerable<PathProbeRow> PathRows(long sinceNs, long untilNs);

    /// <summary>
    /// The window's probes reduced to what loss and freezes need; ordered by src, dst, icmp_id,
    /// first_ts_ns, icmp_seq when <paramref name="orderByRun"/>, else in any order.
    /// </summary>
    IEnumerable<LossProbeRow> LossRows(string? src, string? dst, long sinceNs, long untilNs, bool orderByRun);

    /// <summary>Rollup rows of <paramref name="width"/> whose bucket starts in [sinceNs, untilNs] (0 = open), in any order (callers sort).</summary>
    IEnumerable<RollupRow> Rollups(RollupWidth width, string? src, string? dst, long sinceNs, long untilNs);
}

/// <summary>One probe as a path summary reads it.</summary>
public readonly record struct PathProbeRow(string Src, string Dst, long Id, long FirstTsNs, long RttNs, bool Answered, string VerdictKind, long VerdictCostNs, string VerdictLeg);

/// <summary>One probe as loss and freezes read it (LostLeg and LostAfter are "" for an answered probe).</summary>
public readonly record struct LossProbeRow(string Src, string Dst, uint IcmpId, ushort Seq, long FirstTsNs, bool Answered, string LostIn, string LostLeg, string LostAfter);

/// <summary>A stored agent as the agents table remembers it across restarts.</summary>
public sealed record StoredAgent(string Node, string Instance, long LastSeenNs, Hello Hello);
