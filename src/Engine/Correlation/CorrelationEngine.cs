using HopCapture.Engine.Attribution;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;

namespace HopCapture.Engine.Correlation;

/// <summary>
/// Joins observations of one probe across points, orders the points by decreasing round trip
/// and attributes each segment's round-trip cost. Single-threaded and free of I/O: the caller
/// feeds observations with their arrival time and calls <see cref="Advance"/> to finalise.
/// </summary>
/// <remarks>
/// Arrival time, not capture time, drives finalisation: capture clocks differ per node, and a
/// probe must wait for the slowest agent's upload whatever its clock says. Offline analysis
/// passes capture time as arrival time, which is the same thing for a time-ordered merge.
/// </remarks>
public sealed class CorrelationEngine
{
    private readonly Dictionary<ProbeKey, ProbeState> _inFlight = [];
    private readonly Queue<(ProbeState State, int Generation)> _byAge = new();
    // One entry per settling probe (its earliest due time; later observations re-queue it when
    // it comes due), ordered by due time, then by when it was queued: bounded by the in-flight
    // limit, where one entry per arriving batch held ~a million in a start-up transient.
    private readonly PriorityQueue<(ProbeState State, int Generation), (long DueNs, long Sequence)> _settling = new();
    private long _settlingSequence;
    private readonly Queue<(ProbeState State, int Generation)> _ready = new();
    private readonly Stack<ProbeState> _pool = new();
    private readonly RecentKeys _recent;
    private readonly PathShapes _shapes = new();
    private readonly PathPoints _pathPoints = new();
    private readonly ProbeFinalizer _finalizer;
    private readonly long _timeoutNs;
    private readonly long _settleNs;

    public CorrelationEngine(EngineOptions options, InterfaceCatalog catalog)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxInFlight, 1, nameof(options.MaxInFlight));
        Options = options;
        Catalog = catalog;
        _timeoutNs = checked((long)options.ProbeTimeout.TotalNanoseconds);
        _settleNs = checked((long)options.Settle.TotalNanoseconds);
        // Finished probes are remembered for twice the timeout, or the last RecentCapacity of them
        // at a high probe rate: independent of the in-flight limit, which is about memory.
        _recent = new RecentKeys(Math.Max(options.MaxInFlight, RecentCapacity), _timeoutNs * 2);
        Offsets = new ClockOffsets((long)options.NoiseFloor.TotalNanoseconds);
        _finalizer = new ProbeFinalizer(catalog, _shapes, Offsets, (long)options.NoiseFloor.TotalNanoseconds);
    }

    /// <summary>Finished probes remembered at most (~5 MB; 2.2 s at 91,000 probes a second).</summary>
    public const int RecentCapacity = 200_000;

    public EngineOptions Options { get; }

    public InterfaceCatalog Catalog { get; }

    public EngineCounters Counters { get; } = new();

    /// <summary>Clock offsets between adjacent points, learned from answered probes (engine thread only).</summary>
    public ClockOffsets Offsets { get; }

    public int InFlight => _inFlight.Count;

    /// <summary>Entries in the settling queue, stale ones included (at most one live per probe).</summary>
    internal int SettlingEntries => _settling.Count;

    /// <summary>Adds one observation. Unknown interface ids are counted and ignored.</summary>
    public void Add(in Observation observation, long arrivalNs)
    {
        Counters._observations++;
        if (!Catalog.TryGetInterface(observation.Iface, out var iface))
        {
            Counters._unknownInterface++;
            return;
        }

        var key = ProbeKey.Of(observation);
        if (!_inFlight.TryGetValue(key, out var state))
        {
            if (_recent.Contains(key))
            {
                Counters._late++;
                _pathPoints.For(key).Add(iface.PointId, observation.Type, arrivalNs);
                return;
            }

            if (_inFlight.Count >= Options.MaxInFlight)
            {
                EvictOldest();
            }

            state = Rent(key, arrivalNs);
            state.PathPoints = _pathPoints.For(key);
            _inFlight.Add(key, state);
            _byAge.Enqueue((state, state.Generation));
        }

        if (!state.Record(iface, observation))
        {
            Counters._duplicates++;
            state.Duplicates++;
            return;
        }

        state.LastArrivalNs = arrivalNs;
        state.PathPoints!.Add(iface.PointId, observation.Type, arrivalNs);
        if (state.IsComplete)
        {
            // Every point this path is seen at (a set that has stopped growing) has reported each
            // half of the echo it sees: nothing is left to wait for, so the probe is final at the
            // next turn. Otherwise a slower agent, or a point's other capture handle, may still
            // add one, and the probe settles first.
            var path = state.PathPoints!;
            if (state.Halves >= path.Halves && arrivalNs - path.GrewAtNs >= _timeoutNs)
            {
                state.DueNs = arrivalNs;
                _ready.Enqueue((state, state.Generation));
            }
            else
            {
                state.DueNs = arrivalNs + _settleNs;
                if (!state.Settling)
                {
                    QueueSettling(state);
                }
            }
        }
    }

    /// <summary>
    /// How many probes <paramref name="observations"/> would start: those neither in flight nor
    /// recently finalised (at most: two observations of one new probe count twice). Lets a
    /// caller at the in-flight limit take a batch that only completes probes.
    /// </summary>
    public int NewProbes(ReadOnlySpan<Observation> observations)
    {
        var count = 0;
        foreach (ref readonly var observation in observations)
        {
            if (!Joins(observation))
            {
                count++;
            }
        }

        return count;
    }

    /// <summary>Whether <paramref name="observation"/> belongs to a probe in flight or recently finalised (it starts none).</summary>
    public bool Joins(in Observation observation)
    {
        var key = ProbeKey.Of(observation);
        return _inFlight.ContainsKey(key) || _recent.Contains(key);
    }

    /// <summary>Finalises every probe that has settled or timed out by <paramref name="nowNs"/>.</summary>
    public void Advance(long nowNs, ICollection<ProbeResult> finalized)
    {
        ArgumentNullException.ThrowIfNull(finalized);
        while (_ready.TryDequeue(out var ready))
        {
            if (ready.State.Generation == ready.Generation && ready.State.IsComplete && ready.State.DueNs <= nowNs)
            {
                Finalize(ready.State, nowNs, finalized);
            }
        }

        while (_settling.TryPeek(out var entry, out var due) && due.DueNs <= nowNs)
        {
            _settling.Dequeue();
            var state = entry.State;
            if (state.Generation != entry.Generation)
            {
                continue;
            }

            state.Settling = false;
            if (!state.IsComplete)
            {
                // Incomplete again (a new point saw the request): it re-queues when complete.
                continue;
            }

            if (state.DueNs <= nowNs)
            {
                Finalize(state, nowNs, finalized);
            }
            else
            {
                // A newer observation moved the due time.
                QueueSettling(state);
            }
        }

        while (_byAge.TryPeek(out var entry))
        {
            var state = entry.State;
            if (state.Generation != entry.Generation)
            {
                _byAge.Dequeue();
                continue;
            }

            if (state.FirstArrivalNs + _timeoutNs > nowNs)
            {
                break;
            }

            _byAge.Dequeue();
            Finalize(state, nowNs, finalized);
        }

        _recent.Expire(nowNs);
    }

    /// <summary>Finalises everything in flight, complete or not (shutdown, end of input).</summary>
    public void Flush(ICollection<ProbeResult> finalized)
    {
        ArgumentNullException.ThrowIfNull(finalized);
        while (_byAge.TryDequeue(out var entry))
        {
            if (entry.State.Generation == entry.Generation)
            {
                Finalize(entry.State, entry.State.LastArrivalNs, finalized);
            }
        }

        _settling.Clear();
        _ready.Clear();
    }

    private void QueueSettling(ProbeState state)
    {
        state.Settling = true;
        _settling.Enqueue((state, state.Generation), (state.DueNs, _settlingSequence++));
    }

    private void Finalize(ProbeState state, long nowNs, ICollection<ProbeResult> finalized)
    {
        _inFlight.Remove(state.Key);
        _recent.Add(state.Key, nowNs);
        finalized.Add(_finalizer.Finalize(state));
        Counters._finalized++;
        Return(state);
    }

    private void EvictOldest()
    {
        while (_byAge.TryDequeue(out var entry))
        {
            if (entry.State.Generation != entry.Generation)
            {
                continue;
            }

            // Dropped rather than finalised: a probe cut short would read as a false loss.
            _inFlight.Remove(entry.State.Key);
            Counters._evicted++;
            Return(entry.State);
            return;
        }
    }

    private ProbeState Rent(ProbeKey key, long arrivalNs)
    {
        var state = _pool.Count > 0 ? _pool.Pop() : new ProbeState();
        state.Reset(key, arrivalNs);
        return state;
    }

    private void Return(ProbeState state)
    {
        // The generation bump invalidates queue entries that still point at this instance.
        state.Generation++;
        if (_pool.Count < 4096)
        {
            _pool.Push(state);
        }
    }
}
