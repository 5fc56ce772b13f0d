using HopCapture.Engine.Model;
using HopCapture.Packets.Flows;

namespace HopCapture.Agent.Traffic;

/// <summary>One flow's share of a window, as <see cref="TrafficRecorder.Query"/> returns it.</summary>
public readonly record struct FlowTotal(FlowHeaders Flow, PacketDirection Direction, long Bytes, long Packets);

/// <summary>One bucket of a window: wire bytes and packets per direction.</summary>
public readonly record struct BucketTotal(long StartNs, long InBytes, long InPackets, long OutBytes, long OutPackets);

/// <summary>What one interface carried in a window.</summary>
public sealed record TrafficSnapshot(
    long FromNs, long ToNs, long BucketNs, IReadOnlyList<BucketTotal> Buckets, IReadOnlyList<FlowTotal> Flows,
    long UnattributedBytes, int SampleEvery, long KeptFromNs)
{
    public long InBytes => Buckets.Sum(b => b.InBytes);

    public long InPackets => Buckets.Sum(b => b.InPackets);

    public long OutBytes => Buckets.Sum(b => b.OutBytes);

    public long OutPackets => Buckets.Sum(b => b.OutPackets);
}

/// <summary>
/// An interface's recent traffic in fixed memory: a ring of fine buckets (bytes and packets per
/// direction, exact) and a ring of per-second flow tables (bytes and packets per 5-tuple and
/// direction). Everything is allocated up front, so recording a packet allocates nothing; a
/// flow table that is full charges the packet to "unattributed" instead of growing. Above
/// <see cref="TrafficRecorderOptions.SampleAbove"/> packets per second only every Nth packet
/// is decoded for its flow (N from the previous second's rate) and counts N times: the totals
/// stay exact, the flows become an estimate, and the window says by how much it sampled.
/// Written by the interface's two accounting threads and read by queries, under one lock
/// (uncontended it costs tens of nanoseconds, against the microsecond a packet costs anyway).
/// </summary>
public sealed class TrafficRecorder
{
    /// <summary>Flow tables cover one second each.</summary>
    public const long FlowSlotNs = 1_000_000_000;

    private const int MaxProbe = 8;

    private readonly Lock _gate = new();
    private readonly long _bucketNs;
    private readonly long _sampleAbove;
    private readonly long[] _bucketId;
    private readonly long[] _inBytes;
    private readonly long[] _inPackets;
    private readonly long[] _outBytes;
    private readonly long[] _outPackets;
    private readonly FlowSlot[] _slots;
    private readonly int _flowMask;
    private long _oldestNs = long.MaxValue;
    private long _countdown;

    public TrafficRecorder(TrafficRecorderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _bucketNs = (long)options.Bucket.TotalNanoseconds;
        _sampleAbove = options.SampleAbove;
        var buckets = (int)Math.Ceiling(options.Retention.TotalNanoseconds / _bucketNs);
        _bucketId = new long[buckets];
        Array.Fill(_bucketId, -1);
        _inBytes = new long[buckets];
        _inPackets = new long[buckets];
        _outBytes = new long[buckets];
        _outPackets = new long[buckets];
        var slots = (int)Math.Ceiling(options.Retention.TotalNanoseconds / FlowSlotNs) + 1;
        var capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)options.FlowsPerSecond);
        _flowMask = capacity - 1;
        _slots = new FlowSlot[slots];
        for (var i = 0; i < slots; i++)
        {
            _slots[i] = new FlowSlot(capacity);
        }
    }

    public long BucketNs => _bucketNs;

    /// <summary>How far back the rings reach.</summary>
    public long RetentionNs => _bucketId.Length * _bucketNs;

    /// <summary>Bytes of memory the rings hold (fixed from construction on).</summary>
    public long MemoryBytes => (_bucketId.Length * 5L * sizeof(long)) + (_slots.Length * (long)(_flowMask + 1) * System.Runtime.CompilerServices.Unsafe.SizeOf<FlowEntry>());

    /// <summary>
    /// Counts one captured frame; decodes its 5-tuple (with <paramref name="decode"/>) only when
    /// the flow sampling picks it. Returns whether it was decoded.
    /// </summary>
    public bool Record(long tsNs, PacketDirection direction, uint wireLength, ReadOnlySpan<byte> frame, int linkType)
    {
        lock (_gate)
        {
            CountBucket(tsNs, direction, wireLength);
            var slot = SlotFor(tsNs);
            slot.Packets++;
            if (--_countdown > 0)
            {
                return false;
            }

            _countdown = slot.SampleEvery;
            if (!FlowDecoder.TryDecode(frame, linkType, out var flow))
            {
                slot.Unattributed += wireLength * (long)slot.SampleEvery;
                return false;
            }

            AddFlow(slot, flow, direction, wireLength * (long)slot.SampleEvery, slot.SampleEvery);
            return true;
        }
    }

    /// <summary>Totals and top <paramref name="top"/> flows of [<paramref name="fromNs"/>, <paramref name="toNs"/>).</summary>
    public TrafficSnapshot Query(long fromNs, long toNs, int top)
    {
        var buckets = new List<BucketTotal>();
        var flows = new Dictionary<(FlowHeaders, PacketDirection), (long Bytes, long Packets)>();
        long unattributed = 0;
        var sampleEvery = 1;
        long keptFrom;
        lock (_gate)
        {
            keptFrom = _oldestNs == long.MaxValue ? 0 : Math.Max(_oldestNs, NewestNs() - RetentionNs);
            for (var id = Floor(fromNs, _bucketNs) / _bucketNs; id * _bucketNs < toNs; id++)
            {
                var i = (int)(id % _bucketId.Length);
                if (_bucketId[i] == id && (_inPackets[i] | _outPackets[i]) != 0)
                {
                    buckets.Add(new BucketTotal(id * _bucketNs, _inBytes[i], _inPackets[i], _outBytes[i], _outPackets[i]));
                }
            }

            for (var id = Floor(fromNs, FlowSlotNs) / FlowSlotNs; id * FlowSlotNs < toNs; id++)
            {
                var slot = _slots[(int)(id % _slots.Length)];
                if (slot.Id != id)
                {
                    continue;
                }

                unattributed += slot.Unattributed;
                sampleEvery = Math.Max(sampleEvery, slot.SampleEvery);
                foreach (ref readonly var entry in slot.Table.AsSpan())
                {
                    if (entry.Packets == 0)
                    {
                        continue;
                    }

                    var key = (entry.Flow, entry.Direction);
                    flows.TryGetValue(key, out var sum);
                    flows[key] = (sum.Bytes + entry.Bytes, sum.Packets + entry.Packets);
                }
            }
        }

        var topFlows = flows
            .OrderByDescending(f => f.Value.Bytes)
            .Take(top)
            .Select(f => new FlowTotal(f.Key.Item1, f.Key.Item2, f.Value.Bytes, f.Value.Packets))
            .ToList();
        return new TrafficSnapshot(fromNs, toNs, _bucketNs, buckets, topFlows, unattributed, sampleEvery, keptFrom);
    }

    private static long Floor(long value, long step) => value >= 0 ? value - (value % step) : value - (((value % step) + step) % step);

    private long NewestNs()
    {
        var newest = long.MinValue;
        foreach (var id in _bucketId)
        {
            newest = Math.Max(newest, id);
        }

        return (newest + 1) * _bucketNs;
    }

    private void CountBucket(long tsNs, PacketDirection direction, uint wireLength)
    {
        var id = tsNs / _bucketNs;
        var i = (int)(id % _bucketId.Length);
        if (_bucketId[i] != id)
        {
            if (_bucketId[i] > id)
            {
                return; // older than the ring reaches (a packet stamped far in the past)
            }

            _bucketId[i] = id;
            _inBytes[i] = _inPackets[i] = _outBytes[i] = _outPackets[i] = 0;
        }

        _oldestNs = Math.Min(_oldestNs, id * _bucketNs);
        if (direction == PacketDirection.In)
        {
            _inBytes[i] += wireLength;
            _inPackets[i]++;
        }
        else
        {
            _outBytes[i] += wireLength;
            _outPackets[i]++;
        }
    }

    private FlowSlot SlotFor(long tsNs)
    {
        var id = tsNs / FlowSlotNs;
        var slot = _slots[(int)(id % _slots.Length)];
        if (slot.Id != id && id > slot.Id)
        {
            // A new second: its sampling step follows the second before it.
            var previous = _slots[(int)((id - 1) % _slots.Length)];
            var rate = previous.Id == id - 1 ? previous.Packets : 0;
            slot.Reset(id, _sampleAbove > 0 && rate > _sampleAbove ? (int)Math.Min(1024, (rate + _sampleAbove - 1) / _sampleAbove) : 1);
            _countdown = 0;
        }

        return slot;
    }

    private void AddFlow(FlowSlot slot, in FlowHeaders flow, PacketDirection direction, long bytes, int packets)
    {
        var hash = HashCode.Combine(flow, direction);
        for (var probe = 0; probe < MaxProbe; probe++)
        {
            ref var entry = ref slot.Table[(hash + probe) & _flowMask];
            if (entry.Packets == 0)
            {
                entry.Flow = flow;
                entry.Direction = direction;
                entry.Bytes = bytes;
                entry.Packets = packets;
                return;
            }

            if (entry.Direction == direction && entry.Flow == flow)
            {
                entry.Bytes += bytes;
                entry.Packets += packets;
                return;
            }
        }

        slot.Unattributed += bytes;
    }

    private struct FlowEntry
    {
        public FlowHeaders Flow;
        public PacketDirection Direction;
        public long Bytes;
        public long Packets;
    }

    private sealed class FlowSlot(int capacity)
    {
        public FlowEntry[] Table { get; } = new FlowEntry[capacity];

        public long Id { get; private set; } = -1;

        public long Packets { get; set; }

        public long Unattributed { get; set; }

        public int SampleEvery { get; private set; } = 1;

        public void Reset(long id, int sampleEvery)
        {
            Array.Clear(Table);
            Id = id;
            Packets = 0;
            Unattributed = 0;
            SampleEvery = sampleEvery;
        }
    }
}

/// <summary>The sizes a <see cref="TrafficRecorder"/> is built with (from <see cref="TrafficOptions"/>).</summary>
public sealed record TrafficRecorderOptions(TimeSpan Bucket, TimeSpan Retention, int FlowsPerSecond, long SampleAbove);
