using HopCapture.Contracts.Mapping;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage;

/// <summary>The rollup resolutions kept: minute rows answer window edges, hour rows long windows.</summary>
public enum RollupWidth
{
    Minute = 60,
    Hour = 3600,
}

/// <summary>
/// One rollup row: the probes of one path, in one bucket of arrival time, with one verdict
/// (Kind, Leg) and, for lost ones, one place they vanished (LostIn, LostLeg, LostAfter; "" when
/// answered). Everything in it adds up across rows (the histogram merges), so any window is
/// answered by summing rows. Backends store the key and counters as columns, the histogram as
/// bytes (<see cref="RttHistogram.ToBytes"/>), and replace a row whole when the writer saves it.
/// </summary>
public sealed class RollupRow(string src, string dst, long bucketNs, string kind, string leg, string lostIn, string lostLeg, string lostAfter)
{
    public string Src { get; } = src;

    public string Dst { get; } = dst;

    /// <summary>Start of the bucket (Unix ns of arrival), a multiple of the width.</summary>
    public long BucketNs { get; } = bucketNs;

    /// <summary>The verdict kind ("fabric", "lost:nic", "" when none).</summary>
    public string Kind { get; } = kind;

    /// <summary>The verdict segment's leg ("" for a lost probe).</summary>
    public string Leg { get; } = leg;

    public string LostIn { get; } = lostIn;

    public string LostLeg { get; } = lostLeg;

    public string LostAfter { get; } = lostAfter;

    public long Probes { get; set; }

    public long Lost { get; set; }

    /// <summary>Answered probes slower than <see cref="ProbeQueries.SlowProbeNs"/>.</summary>
    public long Slow { get; set; }

    /// <summary>Sum of the verdict cost over answered probes.</summary>
    public long CostNs { get; set; }

    /// <summary>Sum of the verdict cost over slow probes.</summary>
    public long SlowCostNs { get; set; }

    public long FirstTsNs { get; set; } = long.MaxValue;

    public long LastTsNs { get; set; } = long.MinValue;

    /// <summary>The slowest answered probe's id and rtt (0, long.MinValue when none).</summary>
    public long WorstId { get; set; }

    public long WorstRttNs { get; set; } = long.MinValue;

    /// <summary>Round trips of the answered probes.</summary>
    public RttHistogram Rtt { get; set; } = new();

    /// <summary>The row's identity within a width.</summary>
    public (string, string, long, string, string, string, string, string) Key => (Src, Dst, BucketNs, Kind, Leg, LostIn, LostLeg, LostAfter);

    /// <summary>Counts <paramref name="record"/> into this row.</summary>
    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Probes++;
        FirstTsNs = Math.Min(FirstTsNs, record.FirstTsNs);
        LastTsNs = Math.Max(LastTsNs, record.FirstTsNs);
        if (!record.Answered)
        {
            Lost++;
            return;
        }

        var cost = record.Verdict?.CostNs ?? 0;
        CostNs += cost;
        if (record.RttNs > ProbeQueries.SlowProbeNs)
        {
            Slow++;
            SlowCostNs += cost;
        }

        if (record.RttNs > WorstRttNs)
        {
            WorstRttNs = record.RttNs;
            WorstId = record.Id;
        }

        Rtt.Add(record.RttNs);
    }
}

/// <summary>
/// The rollups a write session changes: each stored probe is counted into its minute and hour
/// rows; rows not yet touched by the session are loaded from the store first (a restart, a late
/// probe), so a saved row always holds everything counted into it. Backends call
/// <see cref="Add"/> per stored record and save <see cref="TakeDirty"/> before their commit; a
/// session whose transaction failed is thrown away with its book.
/// </summary>
public sealed class RollupBook(Func<RollupWidth, RollupRow, RollupRow?> load, Func<RollupWidth, long> newestStored)
{
    /// <summary>Rows kept in memory after they were saved, per width (older buckets are reloaded if touched).</summary>
    private const int KeepBuckets = 4;

    private static readonly RollupWidth[] Widths = [RollupWidth.Minute, RollupWidth.Hour];

    private readonly Dictionary<RollupWidth, Dictionary<RowKey, RollupRow>> _rows = new()
    {
        [RollupWidth.Minute] = [],
        [RollupWidth.Hour] = [],
    };

    private readonly HashSet<(RollupWidth, RollupRow)> _dirty = [];

    // Per width, the newest bucket a row may be stored for without being in memory (the store's
    // newest at first use, then the newest evicted): newer buckets need no lookup.
    private readonly Dictionary<RollupWidth, long> _loadUpTo = [];

    /// <summary>The bucket of width <paramref name="width"/> that <paramref name="arrivalNs"/> falls in.</summary>
    public static long BucketOf(RollupWidth width, long arrivalNs)
    {
        var size = (long)width * 1_000_000_000L;
        return arrivalNs - (((arrivalNs % size) + size) % size);
    }

    /// <summary>Counts a stored record (its Id set) into its rows.</summary>
    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var arrival = record.ArrivalNs != 0 ? record.ArrivalNs : record.FirstTsNs;
        var answered = record.Answered;
        var kind = record.Verdict?.Kind ?? "";
        var leg = answered ? record.VerdictLeg() : "";
        var (lostIn, lostLeg, lostAfter) = answered ? ("", "", "") : (record.LostIn, record.LostLeg, record.LostAfter);
        // The strings are hashed once for both widths' rows (every stored probe comes here).
        var hash = HashCode.Combine(record.Src, record.Dst, kind, leg, lostIn, lostLeg, lostAfter);
        foreach (var width in Widths)
        {
            var bucket = BucketOf(width, arrival);
            var key = new RowKey(record.Src, record.Dst, bucket, kind, leg, lostIn, lostLeg, lostAfter, HashCode.Combine(hash, bucket));
            var rows = _rows[width];
            if (!rows.TryGetValue(key, out var row))
            {
                var fresh = new RollupRow(key.Src, key.Dst, bucket, kind, leg, lostIn, lostLeg, lostAfter);
                if (!_loadUpTo.TryGetValue(width, out var loadUpTo))
                {
                    _loadUpTo[width] = loadUpTo = newestStored(width);
                }

                row = bucket <= loadUpTo ? load(width, fresh) ?? fresh : fresh;
                rows[key] = row;
            }

            row.Add(record);
            _dirty.Add((width, row));
        }
    }

    /// <summary>The rows changed since the last call, to be saved (whole) in the current transaction.</summary>
    public IReadOnlyList<(RollupWidth Width, RollupRow Row)> TakeDirty()
    {
        var dirty = _dirty.ToList();
        _dirty.Clear();
        foreach (var width in Widths)
        {
            var rows = _rows[width];
            if (rows.Count > 10_000)
            {
                // Bounded memory: only the newest buckets stay; an older one is reloaded when touched.
                var newest = rows.Values.Max(static r => r.BucketNs);
                var keepFrom = newest - ((KeepBuckets - 1) * (long)width * 1_000_000_000L);
                foreach (var key in rows.Where(r => r.Value.BucketNs < keepFrom).Select(static r => r.Key).ToList())
                {
                    _loadUpTo[width] = Math.Max(_loadUpTo.GetValueOrDefault(width, long.MinValue), key.BucketNs);
                    rows.Remove(key);
                }
            }
        }

        return dirty;
    }

    /// <summary>A row's identity within a width, with its hash computed by the caller (<see cref="Add"/> hashes the strings once for both widths).</summary>
    private readonly record struct RowKey(string Src, string Dst, long BucketNs, string Kind, string Leg, string LostIn, string LostLeg, string LostAfter, int Hash)
    {
        public bool Equals(RowKey other) =>
            Hash == other.Hash && BucketNs == other.BucketNs && Src == other.Src && Dst == other.Dst && Kind == other.Kind && Leg == other.Leg &&
            LostIn == other.LostIn && LostLeg == other.LostLeg && LostAfter == other.LostAfter;

        public override int GetHashCode() => Hash;
    }
}
