using Google.Protobuf;
using EngineObservation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Contracts.Mapping;

/// <summary>
/// Fills one batch's packed field record by record into a buffer of its own, handed to the batch
/// without a copy (<see cref="UnsafeByteOperations.UnsafeWrap(ReadOnlyMemory{byte})"/> is safe:
/// the writer never touches a buffer again once <see cref="Take"/> gave it away).
/// </summary>
public sealed class PackedBatchWriter(int capacity)
{
    private byte[]? _buffer;
    private int _count;

    /// <summary>Records written since the last <see cref="Take"/>.</summary>
    public int Count => _count;

    public void Add(in EngineObservation observation, int helloIndex)
    {
        _buffer ??= new byte[Math.Max(capacity, 1) * PackedObservations.RecordBytes];
        if ((_count + 1) * PackedObservations.RecordBytes > _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }

        PackedObservations.Write(_buffer.AsSpan(_count * PackedObservations.RecordBytes), observation, helloIndex);
        _count++;
    }

    /// <summary>The records written so far as a packed field; the writer starts a new buffer.</summary>
    public ByteString Take()
    {
        if (_buffer is null || _count == 0)
        {
            return ByteString.Empty;
        }

        var packed = UnsafeByteOperations.UnsafeWrap(_buffer.AsMemory(0, _count * PackedObservations.RecordBytes));
        _buffer = null;
        _count = 0;
        return packed;
    }
}
