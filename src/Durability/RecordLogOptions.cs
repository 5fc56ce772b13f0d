namespace HopCapture.Durability;

/// <summary>How a <see cref="RecordLog"/> is cut into segment files and bounded.</summary>
public sealed class RecordLogOptions
{
    /// <summary>A segment is sealed and a new one started once it holds this many bytes.</summary>
    public long SegmentBytes { get; init; } = 16 << 20;

    /// <summary>
    /// Bytes the log may hold on disk; 0 = unbounded. Past it the oldest sealed segments are
    /// deleted (drop-oldest) and their records counted in <see cref="RecordLog.DroppedRecords"/>.
    /// </summary>
    public long MaxBytes { get; init; }

    /// <summary>Largest record accepted; a length field above it marks a torn or corrupt record.</summary>
    public int MaxRecordBytes { get; init; } = 64 << 20;
}
