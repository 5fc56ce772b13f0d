using System.Runtime.InteropServices;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// A mergeable log-bucketed histogram of round trips: bucket i holds values in (γ^(i-1), γ^i]
/// with γ = 1.02, so any quantile read from it is within 1% of the exact nearest-rank value.
/// Chosen over HdrHistogram because a rollup row holds a few buckets of one path's minute: the
/// sparse varint form below is a handful of bytes where an HdrHistogram snapshot (fixed bucket
/// array, compressed) is hundreds, and merging is adding counts by index.
/// </summary>
public sealed class RttHistogram
{
    private const double Gamma = 1.02;
    private static readonly double LogGamma = Math.Log(Gamma);

    // (index, count) sorted by index: a row holds tens of buckets, so a binary search and an
    // in-place add beat a tree (the writer adds every stored probe to two rows).
    private readonly List<(int Index, long Count)> _buckets = [];

    public long Count { get; private set; }

    public void Add(long valueNs) => Add(Index(valueNs), 1);

    /// <summary>Adds <paramref name="count"/> values of <paramref name="valueNs"/>.</summary>
    public void Add(long valueNs, long count) => Add(Index(valueNs), count);

    /// <summary>Adds every count of <paramref name="other"/>.</summary>
    public void Merge(RttHistogram other)
    {
        ArgumentNullException.ThrowIfNull(other);
        foreach (var (index, count) in other._buckets)
        {
            Add(index, count);
        }
    }

    /// <summary>The nearest-rank quantile <paramref name="p"/> (the bucket's centre, relative error ≤ 1%); 0 when empty.</summary>
    public long Quantile(double p)
    {
        if (Count == 0)
        {
            return 0;
        }

        var rank = Math.Clamp((long)Math.Ceiling(p * Count), 1, Count);
        long seen = 0;
        foreach (var (index, count) in _buckets)
        {
            seen += count;
            if (seen >= rank)
            {
                return Value(index);
            }
        }

        return Value(_buckets[^1].Index);
    }

    /// <summary>Sparse form: bucket count, then (index delta zigzag, count) varint pairs.</summary>
    public byte[] ToBytes()
    {
        var buffer = Array.Empty<byte>();
        var length = WriteTo(ref buffer);
        return buffer.AsSpan(0, length).ToArray();
    }

    /// <summary>Writes the <see cref="ToBytes"/> form into <paramref name="buffer"/> (grown when short, for reuse); returns the length.</summary>
    public int WriteTo(ref byte[] buffer)
    {
        var need = 10 + (_buckets.Count * 15);
        if (buffer.Length < need)
        {
            buffer = new byte[need];
        }

        var at = Varint.Write(buffer, 0, (ulong)_buckets.Count);
        var previous = 0;
        foreach (var (index, count) in _buckets)
        {
            at = Varint.Write(buffer, at, Varint.ZigZag(index - previous));
            at = Varint.Write(buffer, at, (ulong)count);
            previous = index;
        }

        return at;
    }

    /// <exception cref="FormatException">The bytes are not a histogram.</exception>
    public static RttHistogram FromBytes(ReadOnlySpan<byte> bytes)
    {
        var histogram = new RttHistogram();
        var at = 0;
        var buckets = Varint.Read(bytes, ref at);
        var index = 0;
        for (ulong i = 0; i < buckets; i++)
        {
            index += (int)Varint.UnZigZag(Varint.Read(bytes, ref at));
            histogram.Add(index, (long)Varint.Read(bytes, ref at));
        }

        return histogram;
    }

    private void Add(int index, long count)
    {
        var buckets = CollectionsMarshal.AsSpan(_buckets);
        var lo = 0;
        var hi = buckets.Length - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var at = buckets[mid].Index;
            if (at == index)
            {
                buckets[mid].Count += count;
                Count += count;
                return;
            }

            (lo, hi) = at < index ? (mid + 1, hi) : (lo, mid - 1);
        }

        _buckets.Insert(lo, (index, count));
        Count += count;
    }

    private static int Index(long valueNs) => valueNs <= 1 ? 0 : (int)Math.Ceiling(Math.Log(valueNs) / LogGamma);

    private static long Value(int index) => index == 0 ? 0 : (long)Math.Round(Math.Pow(Gamma, index) * 2 / (1 + Gamma));
}
