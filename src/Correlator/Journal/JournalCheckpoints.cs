namespace HopCapture.Correlator.Journal;

/// <summary>A journal position everything before which is stored, with the batch seqs of the agents journalled by then.</summary>
public sealed record JournalCheckpoint(ulong Index, IReadOnlyDictionary<(string Node, string Instance), ulong> Seqs)
{
    /// <summary>The identity of the database the checkpoint is in (its journal must carry the same).</summary>
    public string DatabaseId { get; init; } = "";
}

/// <summary>
/// Works out how far the journal is done with. The journal writer reports each record in index
/// order; the engine host reports each batch it took and when (not always in index order: it
/// may pass over a batch it has no room for, see <see cref="Correlation.EngineInbox"/>), and
/// after every turn how many probes it has handed to the store so far — a batch that arrived
/// one probe timeout before the turn has no probe left in flight, because the engine finalises
/// every probe by its first arrival plus the timeout. The store writer reports how many probes it has written. A record
/// is done once the probes its batch can be part of are written; the checkpoint is the newest
/// record with every record before it done, persisted in the store with every agent's last
/// batch seq, and the journal before it may be deleted.
/// </summary>
public sealed class JournalCheckpoints
{
    private readonly Lock _gate = new();
    private readonly Queue<(ulong Index, string Node, string Instance, ulong Seq)> _journalled = new();
    private readonly Queue<(ulong Index, long ArrivalNs)> _taken = new();
    private readonly Queue<(ulong Index, long Published)> _candidates = new();
    private readonly Dictionary<(string Node, string Instance), ulong> _seqs = [];

    // Records journalled whose batches may still have probes in flight (taken or not).
    private readonly SortedSet<ulong> _open = [];
    private ulong _newestJournalled;
    private ulong _newestCandidate;
    private ulong _checkpoint;
    private bool _rewriteSeqs;
    private long _replayedThroughNs;

    /// <summary>The last persisted (or restored) checkpoint index.</summary>
    public ulong Index
    {
        get
        {
            lock (_gate)
            {
                return _checkpoint;
            }
        }
    }

    /// <summary>
    /// The newest capture time among observations replayed from the journal at start (0 when
    /// none): a probe first seen at or before it may have been stored before the crash, so the
    /// store writer checks for it before inserting (exactly once in the store).
    /// </summary>
    public long ReplayedThroughNs => Interlocked.Read(ref _replayedThroughNs);

    /// <summary>Replay is about to hand these observations to the engine.</summary>
    public void ReplayedThrough(ReadOnlySpan<HopCapture.Engine.Model.Observation> observations)
    {
        var newest = Interlocked.Read(ref _replayedThroughNs);
        foreach (ref readonly var observation in observations)
        {
            newest = Math.Max(newest, observation.TimestampNs);
        }

        Interlocked.Exchange(ref _replayedThroughNs, newest);
    }

    /// <summary>At start: what the store remembered.</summary>
    public void Restore(JournalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        lock (_gate)
        {
            _checkpoint = checkpoint.Index;
            _newestCandidate = checkpoint.Index;
            foreach (var (agent, seq) in checkpoint.Seqs)
            {
                _seqs[agent] = seq;
            }
        }
    }

    /// <summary>The journal writer wrote record <paramref name="index"/> for an agent's batch <paramref name="seq"/>.</summary>
    public void Journalled(ulong index, string node, string instance, ulong seq)
    {
        lock (_gate)
        {
            _journalled.Enqueue((index, node, instance, seq));
            _open.Add(index);
            _newestJournalled = Math.Max(_newestJournalled, index);
        }
    }

    /// <summary>The engine host took record <paramref name="index"/>'s batch at <paramref name="arrivalNs"/> (engine thread only).</summary>
    public void Taken(ulong index, long arrivalNs) => _taken.Enqueue((index, arrivalNs));

    /// <summary>
    /// After a turn (engine thread only): every batch taken at or before <paramref name="horizonNs"/>
    /// has no probe in flight, and <paramref name="published"/> probes have been handed on so far.
    /// </summary>
    public void Finalised(long horizonNs, long published)
    {
        if (!_taken.TryPeek(out var first) || first.ArrivalNs > horizonNs)
        {
            return;
        }

        lock (_gate)
        {
            while (_taken.TryPeek(out var taken) && taken.ArrivalNs <= horizonNs)
            {
                _open.Remove(_taken.Dequeue().Index);
            }

            // Everything before the oldest open record is done.
            var done = _open.Count == 0 ? _newestJournalled : _open.Min > 0 ? _open.Min - 1 : 0;
            if (done > _newestCandidate)
            {
                _newestCandidate = done;
                _candidates.Enqueue((done, published));
            }
        }
    }

    /// <summary>The engine flushed everything (shutdown): every taken batch is finalised.</summary>
    public void FlushedAll(long published) => Finalised(long.MaxValue, published);

    /// <summary>
    /// The store writer has written (or given up on) <paramref name="stored"/> probes: the newest
    /// checkpoint that covers, or null when it has not moved since the last call.
    /// </summary>
    public JournalCheckpoint? Covered(long stored)
    {
        lock (_gate)
        {
            ulong? index = null;
            while (_candidates.TryPeek(out var candidate) && candidate.Published <= stored)
            {
                index = _candidates.Dequeue().Index;
            }

            if (index is not { } covered || covered <= _checkpoint)
            {
                return null;
            }

            var changed = _rewriteSeqs ? new Dictionary<(string Node, string Instance), ulong>(_seqs) : [];
            _rewriteSeqs = false;
            while (_journalled.TryPeek(out var record) && record.Index <= covered)
            {
                _journalled.Dequeue();
                var agent = (record.Node, record.Instance);
                if (!_seqs.TryGetValue(agent, out var seq) || record.Seq > seq)
                {
                    _seqs[agent] = record.Seq;
                    changed[agent] = record.Seq;
                }
            }

            _checkpoint = covered;
            return new JournalCheckpoint(covered, changed);
        }
    }

    /// <summary>
    /// Persisting the last checkpoint failed: the store still has an older one, from which a
    /// restart replays more (harmless), and the next checkpoint carries every seq, not just changes.
    /// </summary>
    public void PersistFailed()
    {
        lock (_gate)
        {
            _rewriteSeqs = true;
        }
    }
}
