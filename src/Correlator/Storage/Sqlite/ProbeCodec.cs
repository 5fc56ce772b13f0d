using Google.Protobuf;
using HopCapture.Analysis.Legs;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// The compact stored form of a probe (schema v6, issue 12: ≤ 200 bytes a six-point probe). A
/// record splits into its shape — everything but the numbers: points' names, roles, directions,
/// which packets they saw, segment kinds and legs, the verdict's kind, loss place — stored once
/// per distinct shape in probe_shapes, and its numbers, stored per probe as zigzag varints, each
/// the difference from what the numbers before it predict (a point's request time from the
/// previous point's, a segment's cost from its points' round trips, …), so a typical number is
/// one to three bytes. The id, ICMP key, times, rtt and verdict are columns. Decoding gives back
/// a record equal to the one encoded (the verdict text is rebuilt when it is the engine's own
/// wording of the stored numbers, else kept literally).
/// </summary>
internal static class ProbeCodec
{
    private const byte TextEmpty = 0;
    private const byte TextSplit = 1;
    private const byte TextNoise = 2;
    private const byte TextLiteral = 3;

    /// <summary>How many numbers <see cref="ZeroNumbers"/> saves for <paramref name="record"/>.</summary>
    public static int NumberCount(ProbeRecord record) => 10 + (record.Points.Count * 3) + (record.Segments.Count * 5);

    /// <summary>
    /// Turns <paramref name="record"/> into its shape in place — every number <see cref="Numbers"/>
    /// carries zeroed, the columns' fields and the verdict text cleared — saving what it held into
    /// <paramref name="saved"/> (at least <see cref="NumberCount"/> long) for <see cref="RestoreNumbers"/>.
    /// In place, not on a copy: this runs for every probe stored.
    /// </summary>
    public static string ZeroNumbers(ProbeRecord record, Span<long> saved)
    {
        var r = record;
        saved[0] = r.Id;
        saved[1] = r.FirstTsNs;
        saved[2] = r.ArrivalNs;
        saved[3] = r.RttNs;
        saved[4] = r.Answered ? 1 : 0;
        saved[5] = r.Duplicates;
        saved[6] = r.Key?.IcmpId ?? 0;
        saved[7] = r.Key?.IcmpSeq ?? 0;
        saved[8] = r.Key?.PayloadHash ?? 0;
        saved[9] = r.Verdict?.CostNs ?? 0;
        var i = 10;
        for (var n = 0; n < r.Points.Count; n++)
        {
            var p = r.Points[n];
            saved[i++] = p.RequestTsNs;
            saved[i++] = p.ReplyTsNs;
            saved[i++] = p.RoundTripNs;
        }

        for (var n = 0; n < r.Segments.Count; n++)
        {
            var s = r.Segments[n];
            saved[i++] = s.CostNs;
            saved[i++] = s.RequestNs;
            saved[i++] = s.ReplyNs;
            saved[i++] = s.LegUncertaintyNs;
            saved[i++] = s.OffsetNs;
        }

        var text = r.Verdict?.Text ?? "";
        Zero(r);
        return text;
    }

    /// <summary>Puts back what <see cref="ZeroNumbers"/> saved.</summary>
    public static void RestoreNumbers(ProbeRecord record, ReadOnlySpan<long> saved, string text)
    {
        var r = record;
        r.Id = saved[0];
        r.FirstTsNs = saved[1];
        r.ArrivalNs = saved[2];
        r.RttNs = saved[3];
        r.Answered = saved[4] != 0;
        r.Duplicates = (uint)saved[5];
        if (r.Key is { } key)
        {
            key.IcmpId = (uint)saved[6];
            key.IcmpSeq = (uint)saved[7];
            key.PayloadHash = (uint)saved[8];
        }

        if (r.Verdict is { } verdict)
        {
            verdict.CostNs = saved[9];
            verdict.Text = text;
        }

        var i = 10;
        for (var n = 0; n < r.Points.Count; n++)
        {
            var p = r.Points[n];
            p.RequestTsNs = saved[i++];
            p.ReplyTsNs = saved[i++];
            p.RoundTripNs = saved[i++];
        }

        for (var n = 0; n < r.Segments.Count; n++)
        {
            var s = r.Segments[n];
            s.CostNs = saved[i++];
            s.RequestNs = saved[i++];
            s.ReplyNs = saved[i++];
            s.LegUncertaintyNs = saved[i++];
            s.OffsetNs = saved[i++];
        }
    }

    private static void Zero(ProbeRecord r)
    {
        r.Id = 0;
        r.FirstTsNs = 0;
        r.ArrivalNs = 0;
        r.RttNs = 0;
        r.Answered = false;
        r.Duplicates = 0;
        if (r.Key is { } key)
        {
            key.IcmpId = 0;
            key.IcmpSeq = 0;
            key.PayloadHash = 0;
        }

        if (r.Verdict is { } verdict)
        {
            verdict.CostNs = 0;
            verdict.Text = "";
        }

        for (var n = 0; n < r.Points.Count; n++)
        {
            var p = r.Points[n];
            p.RequestTsNs = 0;
            p.ReplyTsNs = 0;
            p.RoundTripNs = 0;
        }

        for (var n = 0; n < r.Segments.Count; n++)
        {
            var s = r.Segments[n];
            s.CostNs = 0;
            s.RequestNs = 0;
            s.ReplyNs = 0;
            s.LegUncertaintyNs = 0;
            s.OffsetNs = 0;
        }
    }

    /// <summary>The numbers of <paramref name="record"/> that its shape and columns lack, written into <paramref name="buffer"/>; returns the length.</summary>
    public static int Numbers(ProbeRecord record, ref byte[] buffer)
    {
        var need = 32 + (record.Points.Count * 30) + (record.Segments.Count * 50) + ((record.Verdict?.Text.Length ?? 0) * 4);
        if (buffer.Length < need)
        {
            buffer = new byte[need];
        }

        var w = new Writer(buffer);
        w.Put(record.Key?.PayloadHash ?? 0, 0);
        w.Put(record.Duplicates, 0);
        var previousRequest = record.FirstTsNs;
        var previousRoundTrip = record.RttNs;
        foreach (var p in record.Points)
        {
            w.Put(p.RequestTsNs, p.HasRequest ? previousRequest : 0);
            w.Put(p.ReplyTsNs, p.HasReply ? p.RequestTsNs + previousRoundTrip : 0);
            w.Put(p.RoundTripNs, PredictRoundTrip(p));
            previousRequest = p.HasRequest ? p.RequestTsNs : previousRequest;
            previousRoundTrip = p.RoundTripNs != 0 ? p.RoundTripNs : previousRoundTrip;
        }

        foreach (var s in record.Segments)
        {
            w.Put(s.CostNs, PredictCost(record, s));
            w.Put(s.RequestNs, 0);
            w.Put(s.ReplyNs, s.CostNs - s.RequestNs);
            w.Put(s.LegUncertaintyNs, 0);
            w.Put(s.OffsetNs, 0);
        }

        if (record.Verdict is { } verdict)
        {
            w.Put(verdict.CostNs, PredictVerdictCost(record));
            var mode = verdict.Text.Length == 0 ? TextEmpty
                : IsSplitText(record, verdict.Text) ? TextSplit
                : IsNoiseText(record, verdict.Text) ? TextNoise
                : TextLiteral;
            w.Byte(mode);
            if (mode == TextLiteral)
            {
                w.Text(verdict.Text);
            }
        }

        return w.At;
    }

    /// <summary>Rebuilds a record from its shape, columns and numbers.</summary>
    /// <exception cref="FormatException">The numbers do not fit the shape.</exception>
    public static ProbeRecord Decode(ProbeRecord shape, long id, long icmpId, long icmpSeq, long firstTsNs, long arrivalNs, long rttNs, bool answered, ReadOnlySpan<byte> numbers)
    {
        ArgumentNullException.ThrowIfNull(shape);
        var record = shape.Clone();
        record.Id = id;
        record.FirstTsNs = firstTsNs;
        record.ArrivalNs = arrivalNs;
        record.RttNs = rttNs;
        record.Answered = answered;
        var r = new Reader(numbers);
        var payloadHash = (uint)r.Get(0);
        record.Duplicates = (uint)r.Get(0);
        if (record.Key is { } key)
        {
            key.IcmpId = (uint)icmpId;
            key.IcmpSeq = (uint)icmpSeq;
            key.PayloadHash = payloadHash;
        }

        var previousRequest = firstTsNs;
        var previousRoundTrip = rttNs;
        foreach (var p in record.Points)
        {
            p.RequestTsNs = r.Get(p.HasRequest ? previousRequest : 0);
            p.ReplyTsNs = r.Get(p.HasReply ? p.RequestTsNs + previousRoundTrip : 0);
            p.RoundTripNs = r.Get(PredictRoundTrip(p));
            previousRequest = p.HasRequest ? p.RequestTsNs : previousRequest;
            previousRoundTrip = p.RoundTripNs != 0 ? p.RoundTripNs : previousRoundTrip;
        }

        foreach (var s in record.Segments)
        {
            s.CostNs = r.Get(PredictCost(record, s));
            s.RequestNs = r.Get(0);
            s.ReplyNs = r.Get(s.CostNs - s.RequestNs);
            s.LegUncertaintyNs = r.Get(0);
            s.OffsetNs = r.Get(0);
        }

        if (record.Verdict is { } verdict)
        {
            verdict.CostNs = r.Get(PredictVerdictCost(record));
            verdict.Text = r.Byte() switch
            {
                TextEmpty => "",
                TextSplit => SplitText(record),
                TextNoise => NoiseText(record),
                TextLiteral => r.Text(),
                var mode => throw new FormatException($"unknown verdict text mode {mode}"),
            };
        }

        return record;
    }

    private static long PredictRoundTrip(ProbePoint p) => p.HasRequest && p.HasReply ? p.ReplyTsNs - p.RequestTsNs : 0;

    private static long PredictCost(ProbeRecord record, Segment s)
    {
        long RoundTrip(int i) => i >= 0 && i < record.Points.Count ? record.Points[i].RoundTripNs : 0;
        return s.ToPoint < 0 ? RoundTrip(s.FromPoint) : RoundTrip(s.FromPoint) - RoundTrip(s.ToPoint);
    }

    private static long PredictVerdictCost(ProbeRecord record) => VerdictSegment(record)?.CostNs ?? 0;

    private static Segment? VerdictSegment(ProbeRecord record) =>
        record.Verdict is { Segment: >= 0 } v && v.Segment < record.Segments.Count ? record.Segments[v.Segment] : null;

    private static LegSplit SplitOf(ProbeRecord record) =>
        VerdictSegment(record) is { } s ? new LegSplit(SegmentLegs.ParseSplit(s.Leg), s.RequestNs, s.ReplyNs, s.LegUncertaintyNs, s.OffsetNs, s.LegClamped) : default;

    private static bool WithinNoise(ProbeRecord record) => VerdictSegment(record)?.WithinNoise ?? false;

    private static string SplitText(ProbeRecord record) => Durations.VerdictText(record.Verdict.Kind, record.Verdict.CostNs, SplitOf(record));

    private static string NoiseText(ProbeRecord record) => Durations.VerdictText(record.Verdict.Kind, record.Verdict.CostNs, WithinNoise(record));

    private static bool IsSplitText(ProbeRecord record, string text) => Durations.IsVerdictText(text, record.Verdict.Kind, record.Verdict.CostNs, SplitOf(record));

    private static bool IsNoiseText(ProbeRecord record, string text) => Durations.IsVerdictText(text, record.Verdict.Kind, record.Verdict.CostNs, WithinNoise(record));

    private ref struct Writer(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int At { get; private set; }

        public void Put(long value, long predicted) => At = Varint.Write(_buffer, At, Varint.ZigZag(value - predicted));

        public void Byte(byte value) => _buffer[At++] = value;

        public void Text(string text)
        {
            At = Varint.Write(_buffer, At, (ulong)System.Text.Encoding.UTF8.GetByteCount(text));
            At += System.Text.Encoding.UTF8.GetBytes(text, _buffer[At..]);
        }
    }

    private ref struct Reader(ReadOnlySpan<byte> bytes)
    {
        private readonly ReadOnlySpan<byte> _bytes = bytes;
        private int _at;

        public long Get(long predicted) => predicted + Varint.UnZigZag(Varint.Read(_bytes, ref _at));

        public byte Byte() => _at < _bytes.Length ? _bytes[_at++] : throw new FormatException("stored probe numbers are cut short");

        public string Text()
        {
            var length = (int)Varint.Read(_bytes, ref _at);
            if (_at + length > _bytes.Length)
            {
                throw new FormatException("stored probe numbers are cut short");
            }

            var text = System.Text.Encoding.UTF8.GetString(_bytes.Slice(_at, length));
            _at += length;
            return text;
        }
    }
}
