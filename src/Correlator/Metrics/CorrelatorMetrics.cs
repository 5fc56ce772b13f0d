using HopCapture.Analysis.Probes;
using HopCapture.Analysis.Segments;
using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Correlation;
using HopCapture.Correlator.Ingest;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using HopCapture.Engine.Model;
using Microsoft.Extensions.Options;
using Prometheus;

namespace HopCapture.Correlator.Metrics;

/// <summary>
/// Prometheus metrics of one correlator, in its own registry (two correlators in one test
/// process must not share counters). Probe metrics are fed from the stored-probe fan-out by a
/// background loop; agent, ingest and alert gauges are read when Prometheus scrapes. Every probe
/// is counted per node pair (hopcapture_node_pair_*: bounded by the nodes, not the VMs); per-path
/// series exist only for the paths <see cref="PathSeriesBudget"/> grants them to.
/// </summary>
public sealed class CorrelatorMetrics : BackgroundService
{
    public const int QueueCapacity = 65_536;

    private readonly StoredProbeBus _stored;
    private readonly Histogram _rtt;
    private readonly Histogram _segment;
    private readonly Counter _probes;
    private readonly Counter _lost;
    private readonly Counter _dropped;
    private readonly Histogram _pairSegment;
    private readonly Counter _pairProbes;
    private readonly Counter _pairLost;
    private readonly Counter _folded;
    private readonly Counter _evicted;
    private readonly PathSeriesBudget _budget;
    private readonly Lock _budgetGate = new();
    private readonly TimeProvider _time;
    private readonly TimeSpan _rankInterval;
    private long _nextRankTicks;

    // Label children per path, looked up once: WithLabels per probe and segment cost more than the
    // observations themselves at ingest rates. Only the metrics loop touches this.
    private readonly Dictionary<(string Src, string Dst), PathChildren> _paths = [];
    private readonly Dictionary<(string SrcNode, string DstNode), PairChildren> _pairs = [];
    private StoredProbeSubscription? _subscription;

    public CorrelatorMetrics(
        StoredProbeBus bus,
        AgentRegistry agents,
        EngineHost engine,
        StoreWriter writer,
        Journal.IngestJournal journal,
        StoreHealth health,
        IngestQueueBudget queueBudget,
        AlertService alerts,
        IAlertStore alertStore,
        IOptions<MetricsOptions> options,
        TimeProvider timeProvider)
    {
        ArgumentNullException.ThrowIfNull(options);
        _stored = bus;
        _time = timeProvider;
        _budget = new PathSeriesBudget(options.Value);
        _rankInterval = options.Value.RankInterval;
        Registry = Prometheus.Metrics.NewCustomRegistry();
        var factory = Prometheus.Metrics.WithCustomRegistry(Registry);

        // 25 µs … ~3.3 s: capture noise at the bottom, field report 003's 120 ms well inside.
        var buckets = Histogram.ExponentialBuckets(0.000025, 2, 18);
        _rtt = factory.CreateHistogram("hopcapture_probe_rtt_seconds", "Round trip of answered probes, per path (largest single-clock round trip).",
            ["src", "dst"], new HistogramConfiguration { Buckets = buckets });
        _segment = factory.CreateHistogram("hopcapture_segment_cost_seconds", "Round-trip cost of each path segment, per path and segment kind.",
            ["src", "dst", "segment"], new HistogramConfiguration { Buckets = buckets });
        _probes = factory.CreateCounter("hopcapture_probes_total", "Correlated probes, per path.", ["src", "dst"]);
        _lost = factory.CreateCounter("hopcapture_probes_lost_total", "Unanswered probes, per path and the segment they were lost in.", ["src", "dst", "segment"]);
        _dropped = factory.CreateCounter("hopcapture_metrics_dropped_total", "Probes not counted in these metrics because the exporter fell behind.");
        _pairSegment = factory.CreateHistogram("hopcapture_node_pair_segment_cost_seconds",
            "Round-trip cost of each segment of every probe, per node pair (the hypervisors whose NICs the probe crossed, else its first and last node) and segment kind.",
            ["src_node", "dst_node", "segment"], new HistogramConfiguration { Buckets = buckets });
        _pairProbes = factory.CreateCounter("hopcapture_node_pair_probes_total", "Correlated probes, per node pair.", ["src_node", "dst_node"]);
        _pairLost = factory.CreateCounter("hopcapture_node_pair_probes_lost_total", "Unanswered probes, per node pair and the segment they were lost in.", ["src_node", "dst_node", "segment"]);
        _folded = factory.CreateCounter("hopcapture_metrics_folded_probes_total", "Probes of paths without per-path series (counted per node pair only).");
        _evicted = factory.CreateCounter("hopcapture_metrics_paths_evicted_total", "Paths that lost their per-path series when the busiest paths were re-ranked.");
        var pathLimit = factory.CreateGauge("hopcapture_metrics_path_limit", "Most paths with per-path series: selected by Correlator:Metrics:Paths, and top by traffic.", ["kind"]);
        var paths = factory.CreateGauge("hopcapture_metrics_paths", "Paths with per-path series (selected, top) and paths seen since the last ranking without them (folded).", ["kind"]);
        pathLimit.WithLabels("selected").Set(_budget.SelectedLimit);
        pathLimit.WithLabels("top").Set(_budget.TopLimit);

        var connected = factory.CreateGauge("hopcapture_agent_connected", "1 while the node's agent is connected.", ["node"]);
        var lastSeen = factory.CreateGauge("hopcapture_agent_last_seen_timestamp_seconds", "When the agent was last heard from (unix seconds).", ["node"]);
        var captured = factory.CreateCounter("hopcapture_agent_captured_total", "Frames libpcap handed to the agent, per interface.", ["node", "iface"]);
        var drops = factory.CreateCounter("hopcapture_agent_dropped_total",
            "Frames or observations an agent lost: kernel (ring full), interface (driver), queue (agent queue full), upload (correlator away).",
            ["node", "iface", "reason"]);
        // The agent's own counters restart with its process: gauges, "since the agent started".
        var spoolBytes = factory.CreateGauge("hopcapture_agent_spool_bytes", "Bytes in the agent's on-disk spool (batches not acked yet, plus acked ones in its newest segment).", ["node"]);
        var spoolPending = factory.CreateGauge("hopcapture_agent_spool_pending_batches", "Batches the agent has sealed and the correlator has not acked.", ["node"]);
        var spoolCounts = factory.CreateGauge("hopcapture_agent_spool",
            "The agent's spool since its process started: spooled batches/observations, dropped batches/observations (spool full, drop-oldest), " +
            "torn bytes cut at start, batches recovered at start, batches replayed from disk.",
            ["node", "what"]);
        var observations = factory.CreateCounter("hopcapture_ingest_observations_total", "Observations the engine has taken in.");
        var rejected = factory.CreateCounter("hopcapture_ingest_rejected_total", "Observations refused by ingest validation.");
        var finalized = factory.CreateCounter("hopcapture_engine_probes_finalized_total", "Probes the engine has finalised.");
        var inFlight = factory.CreateGauge("hopcapture_engine_in_flight", "Probes waiting for more observations.");
        var heldBack = factory.CreateCounter("hopcapture_engine_held_back_total",
            "Engine turns that left batches queued because the engine held Engine:MaxInFlight probes (ingest waits, acks slow down; nothing is dropped).");
        var joinedWhileFull = factory.CreateCounter("hopcapture_engine_joined_while_full_total",
            "Observations the engine took out of batches it held back at Engine:MaxInFlight, because they belong to probes in flight (so those probes are not finalised without them).");
        var evicted = factory.CreateCounter("hopcapture_engine_evicted_total", "Probes dropped unfinished because the engine was full (only a single batch with more observations than Engine:MaxInFlight can cause it).");
        var late = factory.CreateCounter("hopcapture_engine_late_total",
            "Observations that came after their probe was finalised: the probe was stored without them (cut short). Nonzero when an agent's halves reach the correlator more than Engine:ProbeTimeout after the others'.");
        var stored = factory.CreateCounter("hopcapture_store_probes_total", "Probes written to the results store.");
        var storeFailed = factory.CreateCounter("hopcapture_store_failed_total", "Probes lost because the store refused the write.");
        var journalBytes = factory.CreateGauge("hopcapture_journal_bytes", "Bytes the ingest journal holds (batches acked but not yet covered by the store's checkpoint).");
        var journalReplayed = factory.CreateCounter("hopcapture_journal_replayed_batches_total", "Batches replayed from the ingest journal into the engine at start (after a crash).");
        var journalFailed = factory.CreateCounter("hopcapture_journal_failed_writes_total", "Batch writes to the journal that failed (disk full…); each is retried, not acked meanwhile.");
        var queueBytes = factory.CreateGauge("hopcapture_ingest_queue_bytes",
            "Bytes of accepted batches waiting for the journal and the engine (bounded by Correlator:IngestQueueBytes; at the bound, acks wait).");
        var heldForLaggard = factory.CreateCounter("hopcapture_ingest_held_for_laggard_total",
            "Batches that waited (at most 250 ms) for a stream behind them with the ingest queue over half full, so agents' halves of the same probes reach the engine together.");
        var writable = factory.CreateGauge("hopcapture_store_writable",
            "1 while the part (journal, store) can write; 0 while it cannot (disk full, read-only…) and ingest is held back: no batch is acked, agents spool.", ["part"]);
        var journalCut = factory.CreateGauge("hopcapture_journal_cut_bytes", "Bytes of torn or corrupt records cut from the journal's tail at start.");
        var partitions = factory.CreateGauge("hopcapture_store_partitions", "Raw probe partitions (days of arrival time) the store holds, as of the last retention check.");
        var storeBytes = factory.CreateGauge("hopcapture_store_used_bytes", "Bytes the database's live pages use, as of the last retention check (compare Correlator:Retention:MaxBytes).");
        var droppedPartitions = factory.CreateCounter("hopcapture_store_partitions_dropped_total", "Raw probe partitions dropped by retention (age or size).");
        var replayDuplicates = factory.CreateCounter("hopcapture_store_replayed_duplicates_total", "Probes re-formed from the journal after a crash that the store already had (skipped).");
        var active = factory.CreateGauge("hopcapture_alerts", "Alerts by state.", ["state"]);
        var alertsDropped = factory.CreateCounter("hopcapture_alert_probes_dropped_total",
            "Stored probes the alert evaluator never saw because its queue was full (it fell behind).");
        var undelivered = factory.CreateGauge("hopcapture_alert_notifications_undelivered", "Alert notifications waiting in the outbox.");
        var dead = factory.CreateGauge("hopcapture_alert_notifications_dead_lettered", "Alert notifications given up on: the receiver refused them (4xx) MaxRejections times.");

        Registry.AddBeforeCollectCallback(() =>
        {
            foreach (var agent in agents.Snapshot())
            {
                connected.WithLabels(agent.Node).Set(agent.Connected ? 1 : 0);
                lastSeen.WithLabels(agent.Node).Set(agent.LastSeenNs / 1e9);
                drops.WithLabels(agent.Node, "", "upload").IncTo(agent.UploadDropped);
                if (agent.Spool is { } spool)
                {
                    spoolBytes.WithLabels(agent.Node).Set(spool.Bytes);
                    spoolPending.WithLabels(agent.Node).Set(spool.PendingBatches);
                    spoolCounts.WithLabels(agent.Node, "spooled_batches").Set(spool.SpooledBatches);
                    spoolCounts.WithLabels(agent.Node, "spooled_observations").Set(spool.SpooledObservations);
                    spoolCounts.WithLabels(agent.Node, "dropped_batches").Set(spool.DroppedBatches);
                    spoolCounts.WithLabels(agent.Node, "dropped_observations").Set(spool.DroppedObservations);
                    spoolCounts.WithLabels(agent.Node, "torn_bytes").Set(spool.TornBytes);
                    spoolCounts.WithLabels(agent.Node, "recovered_batches").Set(spool.RecoveredBatches);
                    spoolCounts.WithLabels(agent.Node, "replayed_batches").Set(spool.ReplayedBatches);
                }

                foreach (var stats in agent.Stats)
                {
                    var iface = stats.Iface < agent.Interfaces.Count ? agent.Interfaces[(int)stats.Iface].Name : stats.Iface.ToString(System.Globalization.CultureInfo.InvariantCulture);
                    captured.WithLabels(agent.Node, iface).IncTo(stats.Captured);
                    drops.WithLabels(agent.Node, iface, "kernel").IncTo(stats.KernelDropped);
                    drops.WithLabels(agent.Node, iface, "interface").IncTo(stats.InterfaceDropped);
                    drops.WithLabels(agent.Node, iface, "queue").IncTo(stats.QueueDropped);
                }
            }

            var counters = engine.Counters;
            observations.IncTo(counters.Observations);
            finalized.IncTo(counters.Finalized);
            rejected.IncTo(agents.Rejected);
            inFlight.Set(engine.InFlight);
            heldBack.IncTo(engine.HeldBack);
            joinedWhileFull.IncTo(engine.JoinedWhileFull);
            evicted.IncTo(counters.Evicted);
            late.IncTo(counters.Late);
            stored.IncTo(writer.Stored);
            storeFailed.IncTo(writer.Failed);
            journalBytes.Set(journal.Bytes);
            journalReplayed.IncTo(journal.ReplayedBatches);
            journalFailed.IncTo(journal.FailedWrites);
            queueBytes.Set(queueBudget.Used);
            heldForLaggard.IncTo(queueBudget.Held);
            writable.WithLabels("journal").Set(health.Faulted(StorePart.Journal) ? 0 : 1);
            writable.WithLabels("store").Set(health.Faulted(StorePart.Store) ? 0 : 1);
            journalCut.Set(journal.Recovery?.CutBytes ?? 0);
            replayDuplicates.IncTo(writer.ReplayedDuplicates);
            droppedPartitions.IncTo(writer.DroppedPartitions);
            if (writer.Retention is { } retention)
            {
                partitions.Set(retention.Partitions);
                storeBytes.Set(retention.UsedBytes);
            }

            var current = alerts.Active;
            active.WithLabels("pending").Set(current.Count(a => a.State == AlertState.Pending));
            active.WithLabels("firing").Set(current.Count(a => a.State == AlertState.Firing));
            alertsDropped.IncTo(alerts.Dropped);
            undelivered.Set(alertStore.Undelivered());
            dead.Set(alertStore.DeadLettered());
            _dropped.IncTo(_subscription?.Dropped ?? 0);
            lock (_budgetGate)
            {
                paths.WithLabels("selected").Set(_budget.Selected);
                paths.WithLabels("top").Set(_budget.Top);
                paths.WithLabels("folded").Set(_budget.Folded);
            }
        });
    }

    public CollectorRegistry Registry { get; }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = _stored.Subscribe(_ => true, QueueCapacity);
        return base.StartAsync(cancellationToken);
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        _subscription?.Dispose();
    }

    /// <summary>Counts one stored probe: per node pair always, per path when the budget grants it.</summary>
    public void Record(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        RecordPair(probe);
        var (src, dst) = (probe.Src, probe.Dst);
        bool tracked;
        lock (_budgetGate)
        {
            RerankWhenDue();
            tracked = _budget.Track(src, dst);
        }

        if (!tracked)
        {
            _folded.Inc();
            return;
        }

        if (!_paths.TryGetValue((src, dst), out var path))
        {
            path = new PathChildren(_probes.WithLabels(src, dst), _rtt.WithLabels(src, dst));
            _paths.Add((src, dst), path);
        }

        path.Probes.Inc();
        if (!probe.Answered)
        {
            var segment = LostIn(probe);
            path.LostIn.Add(segment);
            _lost.WithLabels(src, dst, segment).Inc();
            return;
        }

        path.Rtt.Observe(probe.RttNs / 1e9);
        for (var i = 0; i < probe.SegmentCount; i++)
        {
            var segment = probe.Segment(i);
            if (!path.Segments.TryGetValue(segment.Kind, out var cost))
            {
                cost = _segment.WithLabels(src, dst, segment.Kind.Name);
                path.Segments.Add(segment.Kind, cost);
            }

            cost.Observe(Math.Max(0, segment.CostNs) / 1e9);
        }
    }

    /// <summary>
    /// The node pair of a probe: the nodes of its first and last physical NIC points (the
    /// hypervisors at each end of the fabric), else of its first and last points.
    /// </summary>
    public static (string Src, string Dst) NodePair(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (probe.PointCount == 0)
        {
            return ("unknown", "unknown");
        }

        int first = -1, last = -1;
        for (var i = 0; i < probe.PointCount; i++)
        {
            if (probe.Point(i).Role == PointRole.Nic)
            {
                first = first < 0 ? i : first;
                last = i;
            }
        }

        return first < 0 ? (probe.NodeOf(0), probe.NodeOf(probe.PointCount - 1)) : (probe.NodeOf(first), probe.NodeOf(last));
    }

    private static string LostIn(Probe probe) => probe.LostInName.Length == 0 ? "unknown" : probe.LostInName;

    private void RecordPair(Probe probe)
    {
        var key = NodePair(probe);
        if (!_pairs.TryGetValue(key, out var pair))
        {
            pair = new PairChildren(_pairProbes.WithLabels(key.Src, key.Dst));
            _pairs.Add(key, pair);
        }

        pair.Probes.Inc();
        if (!probe.Answered)
        {
            _pairLost.WithLabels(key.Src, key.Dst, LostIn(probe)).Inc();
            return;
        }

        for (var i = 0; i < probe.SegmentCount; i++)
        {
            var segment = probe.Segment(i);
            if (!pair.Segments.TryGetValue(segment.Kind, out var cost))
            {
                cost = _pairSegment.WithLabels(key.Src, key.Dst, segment.Kind.Name);
                pair.Segments.Add(segment.Kind, cost);
            }

            cost.Observe(Math.Max(0, segment.CostNs) / 1e9);
        }
    }

    /// <summary>Re-ranks the busiest paths every RankInterval and removes the series of those that lost their slot.</summary>
    private void RerankWhenDue()
    {
        var now = _time.GetTimestamp();
        if (_nextRankTicks == 0)
        {
            _nextRankTicks = now + (long)(_rankInterval.TotalSeconds * _time.TimestampFrequency);
            return;
        }

        if (now < _nextRankTicks)
        {
            return;
        }

        _nextRankTicks = now + (long)(_rankInterval.TotalSeconds * _time.TimestampFrequency);
        foreach (var (src, dst) in _budget.Rerank())
        {
            if (_paths.Remove((src, dst), out var path))
            {
                _probes.RemoveLabelled(src, dst);
                _rtt.RemoveLabelled(src, dst);
                foreach (var kind in path.Segments.Keys)
                {
                    _segment.RemoveLabelled(src, dst, kind.Name);
                }

                foreach (var segment in path.LostIn)
                {
                    _lost.RemoveLabelled(src, dst, segment);
                }
            }

            _evicted.Inc();
        }
    }

    private sealed record PathChildren(Counter.Child Probes, Histogram.Child Rtt)
    {
        public Dictionary<SegmentKind, Histogram.Child> Segments { get; } = [];

        public HashSet<string> LostIn { get; } = new(StringComparer.Ordinal);
    }

    private sealed record PairChildren(Counter.Child Probes)
    {
        public Dictionary<SegmentKind, Histogram.Child> Segments { get; } = [];
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var item in _subscription!.Reader.ReadAllAsync(stoppingToken))
            {
                Record(item.Probe);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
