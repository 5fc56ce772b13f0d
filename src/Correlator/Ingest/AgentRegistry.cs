using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Inventory;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;

namespace HopCapture.Correlator.Ingest;

/// <summary>
/// One agent process (node + instance id) as the correlator knows it. Mutable state is guarded
/// by the registry's lock; <see cref="BatchGate"/> serialises batch handling of the instance so
/// two streams of one instance (a reconnect racing the old stream) cannot accept a seq twice.
/// </summary>
public sealed class AgentState
{
    internal AgentState(Hello hello)
    {
        Hello = hello;
    }

    public Hello Hello { get; internal set; }

    public string Node => Hello.Node;

    public string InstanceId => Hello.InstanceId;

    public string Peer { get; internal set; } = "";

    public int Streams { get; internal set; }

    public long ConnectedSinceNs { get; internal set; }

    public long LastSeenNs { get; internal set; }

    public Heartbeat? LastHeartbeat { get; internal set; }

    public ulong Observations { get; internal set; }

    public ulong Rejected { get; internal set; }

    /// <summary>Highest batch seq accepted from this instance; null before the first.</summary>
    public ulong? AcceptedSeq { get; internal set; }

    internal SemaphoreSlim BatchGate { get; } = new(1, 1);

    /// <summary>Highest seq handed to the journal and not yet known to be journalled (under <see cref="BatchGate"/>); 0 when none.</summary>
    internal ulong QueuedSeq { get; set; }

    /// <summary>The least lag seen from a batch's newest capture time to its arrival: this instance's clock offset plus its upload delay.</summary>
    private long _lagFloorNs = long.MaxValue;

    /// <summary>
    /// How far a batch is behind real time beyond this instance's usual lag (under <see
    /// cref="BatchGate"/>): the most behind stream is let into a spent ingest budget first.
    /// Measured against the instance's own least lag, so a clock that is minutes off neither
    /// starves nor jumps the queue.
    /// </summary>
    internal long Behind(ReadOnlySpan<HopCapture.Engine.Model.Observation> observations, long nowNs) =>
        observations.IsEmpty ? 0 : Math.Max(0, nowNs - Span(observations, nowNs).FromNs);

    /// <summary>
    /// Where a batch lies on the correlator's clock (under <see cref="BatchGate"/>): its oldest and
    /// newest capture times plus this instance's least lag, so two agents' batches compare however
    /// far apart their clocks are (<see cref="IngestQueueBudget"/>). An empty batch lies at <paramref name="nowNs"/>.
    /// </summary>
    internal BatchSpan Span(ReadOnlySpan<HopCapture.Engine.Model.Observation> observations, long nowNs)
    {
        if (observations.IsEmpty)
        {
            return new BatchSpan(Node, nowNs, nowNs);
        }

        long oldest = long.MaxValue, newest = long.MinValue;
        foreach (ref readonly var observation in observations)
        {
            oldest = Math.Min(oldest, observation.TimestampNs);
            newest = Math.Max(newest, observation.TimestampNs);
        }

        _lagFloorNs = Math.Min(_lagFloorNs, nowNs - newest);
        return new BatchSpan(Node, Shift(oldest), Shift(newest));
    }

    private long Shift(long timestampNs) => (long)Int128.Clamp((Int128)timestampNs + _lagFloorNs, long.MinValue, long.MaxValue);
}

/// <summary>
/// The agents that connected since start plus those remembered in the store from before a
/// restart. Old instances of a node are forgotten when a new one connects, so it stays small.
/// </summary>
public sealed partial class AgentRegistry(IResultsStore store, VmInventory inventory, TimeProvider timeProvider, ILogger<AgentRegistry> logger)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<(string Node, string Instance), AgentState> _agents = [];
    private readonly Dictionary<(string Node, string Instance), ulong> _restoredSeqs = [];
    private long _rejected;

    /// <summary>Observations rejected by ingest validation, all agents.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    public void LoadPersisted(IEnumerable<StoredAgent> agents)
    {
        ArgumentNullException.ThrowIfNull(agents);
        lock (_gate)
        {
            foreach (var stored in agents)
            {
                var hello = stored.Hello.Clone();
                hello.Node = stored.Node;
                hello.InstanceId = stored.Instance;
                _agents.TryAdd((stored.Node, stored.Instance), new AgentState(hello) { LastSeenNs = stored.LastSeenNs });
            }

            // VM labels survive a restart: each node's latest remembered table until it reconnects.
            foreach (var latest in _agents.Values.GroupBy(a => a.Node, StringComparer.Ordinal).Select(g => g.MaxBy(a => a.LastSeenNs)!))
            {
                inventory.Update(latest.Node, latest.Hello.Interfaces);
            }
        }
    }

    /// <summary>Registers a stream of an agent after its Hello; returns the instance's shared state.</summary>
    public AgentState Connect(Hello hello, string peer)
    {
        ArgumentNullException.ThrowIfNull(hello);
        var now = timeProvider.NowNs();
        AgentState state;
        lock (_gate)
        {
            if (!_agents.TryGetValue((hello.Node, hello.InstanceId), out state!))
            {
                state = new AgentState(hello);
                if (_restoredSeqs.Remove((hello.Node, hello.InstanceId), out var restored))
                {
                    state.AcceptedSeq = restored;
                }

                _agents[(hello.Node, hello.InstanceId)] = state;
            }

            // A new process of the node replaces the record of its disconnected predecessors.
            foreach (var key in _agents.Where(a => a.Key.Node == hello.Node && a.Key.Instance != hello.InstanceId && a.Value.Streams == 0)
                         .Select(a => a.Key).ToList())
            {
                _agents.Remove(key);
            }

            state.Hello = hello;
            state.Peer = peer;
            state.Streams++;
            state.ConnectedSinceNs = now;
            state.LastSeenNs = now;
        }

        inventory.Update(hello.Node, hello.Interfaces);
        Persist(state, now);
        return state;
    }

    /// <summary>The instance's interface table as last announced (Hello or InterfacesChanged).</summary>
    public IReadOnlyList<InterfaceInfo> Interfaces(AgentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_gate)
        {
            return [.. state.Hello.Interfaces];
        }
    }

    /// <summary>
    /// The agent's table changed mid-stream: listings and the next restart's memory show the new
    /// one. The stored Hello takes the table, as the agent's next Hello would carry it.
    /// </summary>
    public void InterfacesChanged(AgentState state, InterfacesChanged changed)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(changed);
        var now = timeProvider.NowNs();
        lock (_gate)
        {
            var hello = state.Hello.Clone();
            hello.Interfaces.Clear();
            hello.Interfaces.AddRange(changed.Interfaces);
            state.Hello = hello;
            state.LastSeenNs = now;
        }

        // A VM started, stopped or migrated: its labels follow at once, not at the next reconnect.
        inventory.Update(state.Node, changed.Interfaces);
        Persist(state, now);
    }

    public void Disconnect(AgentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var now = timeProvider.NowNs();
        lock (_gate)
        {
            state.Streams = Math.Max(0, state.Streams - 1);
            state.LastSeenNs = now;
        }

        Persist(state, now);
    }

    public void Touch(AgentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var now = timeProvider.NowNs();
        lock (_gate)
        {
            state.LastSeenNs = now;
        }
    }

    public void Heartbeat(AgentState state, Heartbeat heartbeat)
    {
        ArgumentNullException.ThrowIfNull(state);
        var now = timeProvider.NowNs();
        lock (_gate)
        {
            state.LastSeenNs = now;
            state.LastHeartbeat = heartbeat;
        }
    }

    public void CountBatch(AgentState state, ulong seq, int accepted, int rejected)
    {
        ArgumentNullException.ThrowIfNull(state);
        var now = timeProvider.NowNs();
        lock (_gate)
        {
            // A batch is a sign of life as much as a heartbeat (the agent-down alert reads it).
            state.LastSeenNs = now;
            state.AcceptedSeq = Math.Max(state.AcceptedSeq ?? 0, seq);
            state.Observations += (ulong)accepted;
            state.Rejected += (ulong)rejected;
        }

        Interlocked.Add(ref _rejected, rejected);
    }

    /// <summary>The instance's batch <paramref name="seq"/> is journalled: a re-send of it or an older one is a duplicate.</summary>
    public void Accept(AgentState state, ulong seq)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_gate)
        {
            state.AcceptedSeq = Math.Max(state.AcceptedSeq ?? 0, seq);
        }
    }

    /// <summary>
    /// At start, from the store's checkpoint and the journal: the last batch of
    /// <paramref name="node"/>/<paramref name="instance"/> already taken, so a re-send after the
    /// restart is dropped. Kept aside until the instance connects if the registry does not list it.
    /// </summary>
    public void RestoreAccepted(string node, string instance, ulong seq)
    {
        lock (_gate)
        {
            if (_agents.TryGetValue((node, instance), out var state))
            {
                state.AcceptedSeq = Math.Max(state.AcceptedSeq ?? 0, seq);
            }
            else
            {
                _restoredSeqs[(node, instance)] = Math.Max(_restoredSeqs.GetValueOrDefault((node, instance)), seq);
            }
        }
    }

    public ulong? AcceptedSeq(AgentState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        lock (_gate)
        {
            return state.AcceptedSeq;
        }
    }

    /// <summary>
    /// What `capture agents` shows: connected instances, and for a node with none connected its
    /// most recent instance as disconnected.
    /// </summary>
    public IReadOnlyList<AgentInfo> Snapshot()
    {
        lock (_gate)
        {
            var list = new List<AgentInfo>();
            foreach (var group in _agents.Values.GroupBy(a => a.Node, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var connected = group.Where(a => a.Streams > 0).ToList();
                var shown = connected.Count > 0 ? connected : [group.MaxBy(a => a.LastSeenNs)!];
                list.AddRange(shown.Select(ToInfo));
            }

            return list;
        }
    }

    private static AgentInfo ToInfo(AgentState state)
    {
        var info = new AgentInfo
        {
            Node = state.Node,
            AgentVersion = state.Hello.AgentVersion,
            InstanceId = state.InstanceId,
            Connected = state.Streams > 0,
            ConnectedSinceNs = state.ConnectedSinceNs,
            LastSeenNs = state.LastSeenNs,
            Observations = state.Observations,
            UploadDropped = state.LastHeartbeat?.UploadDropped ?? 0,
            Spool = state.LastHeartbeat?.Spool,
            Clock = state.LastHeartbeat?.Clock ?? state.Hello.Clock,
            Peer = state.Peer,
        };
        info.Interfaces.AddRange(state.Hello.Interfaces);
        if (state.LastHeartbeat is { } heartbeat)
        {
            info.Stats.AddRange(heartbeat.Interfaces);
        }

        return info;
    }

    private void Persist(AgentState state, long now)
    {
        try
        {
            store.UpsertAgent(state.Node, state.InstanceId, now, state.Hello);
        }
        catch (Exception ex)
        {
            // The agents table only serves listings after a restart; ingest must not stop for it.
            Log.PersistFailed(logger, state.Node, ex);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Could not record agent {Node} in the store")]
        public static partial void PersistFailed(ILogger logger, string node, Exception exception);
    }
}
