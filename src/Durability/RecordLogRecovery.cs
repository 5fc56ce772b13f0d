namespace HopCapture.Durability;

/// <summary>
/// What opening a log found: records intact, and bytes cut because a record was torn (the
/// process died mid-write) or failed its checksum. A cut is never an error: the log opens on
/// the last good record, so a crash can never become a crash loop.
/// </summary>
public sealed record RecordLogRecovery(long Records, long Segments, long CutBytes, int CutSegments)
{
    /// <summary>One line for the start-up log.</summary>
    public string Describe() => CutBytes == 0
        ? $"{Records} records in {Segments} segments, intact"
        : $"{Records} records in {Segments} segments; cut {CutBytes} bytes of torn or corrupt records in {CutSegments} segment(s)";
}
