using Google.Protobuf;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// The writer's shape ids (see <see cref="ProbeCodec"/>), found without serialising each probe.
/// The stored shapes are known by their bytes; a probe's shape (the record with its numbers zeroed
/// in place) is looked up first among the shapes met this session as messages, by protobuf's own
/// field-by-field equality, and serialised only when it is not one of them. Equal messages
/// serialise to equal bytes, so two probes share an id exactly when their shape bytes are equal,
/// as before; only the cost changed (serialising a six-point record for every probe stored was a
/// sixth of the write path, issue 12).
/// </summary>
internal sealed class ProbeShapeIds(Dictionary<ByteString, long> byBytes)
{
    private readonly Dictionary<ByteString, long> _byBytes = byBytes;
    private readonly Dictionary<ProbeRecord, long> _byShape = new(ShapeComparer.Instance);
    private long[] _saved = new long[64];

    /// <summary>
    /// The id of <paramref name="record"/>'s shape, or 0 with the shape's bytes in
    /// <paramref name="unknown"/> when no stored shape has them (store it, then <see cref="Add"/>).
    /// </summary>
    public long Find(ProbeRecord record, out ByteString? unknown)
    {
        unknown = null;
        var count = ProbeCodec.NumberCount(record);
        if (_saved.Length < count)
        {
            _saved = new long[count * 2];
        }

        var text = ProbeCodec.ZeroNumbers(record, _saved);
        try
        {
            if (_byShape.TryGetValue(record, out var id))
            {
                return id;
            }

            var bytes = record.ToByteString();
            if (!_byBytes.TryGetValue(bytes, out id))
            {
                unknown = bytes;
                return 0;
            }

            _byShape[record.Clone()] = id;
            return id;
        }
        finally
        {
            ProbeCodec.RestoreNumbers(record, _saved, text);
        }
    }

    /// <summary>Remembers a shape just stored with <paramref name="id"/>.</summary>
    public void Add(ByteString shape, long id)
    {
        _byBytes[shape] = id;
        _byShape[ProbeRecord.Parser.ParseFrom(shape)] = id;
    }

    /// <summary>
    /// Equality is the generated message equality (every field); the hash reads only a few fields
    /// that tell paths and outcomes apart, which is cheaper than hashing every string of every
    /// point and still spreads the shapes of a busy site.
    /// </summary>
    private sealed class ShapeComparer : IEqualityComparer<ProbeRecord>
    {
        public static readonly ShapeComparer Instance = new();

        public bool Equals(ProbeRecord? x, ProbeRecord? y) => ReferenceEquals(x, y) || (x is not null && x.Equals(y));

        public int GetHashCode(ProbeRecord obj)
        {
            var noise = 0;
            foreach (var s in obj.Segments)
            {
                noise = (noise << 1) | (s.WithinNoise ? 1 : 0);
            }

            var replies = 0;
            foreach (var p in obj.Points)
            {
                replies = (replies << 1) | (p.HasReply ? 1 : 0);
            }

            return HashCode.Combine(obj.Src, obj.Dst, obj.Points.Count, obj.Segments.Count, noise, replies, obj.Verdict?.Kind, obj.LostIn);
        }
    }
}
