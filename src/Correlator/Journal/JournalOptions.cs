namespace HopCapture.Correlator.Journal;

/// <summary>
/// Configuration section "Correlator:Journal": the write-ahead journal every agent batch is
/// written to before it is acked (see <see cref="IngestJournal"/>).
/// </summary>
public sealed class JournalOptions
{
    public const string SectionName = "Correlator:Journal";

    /// <summary>Directory of the journal's segment files; empty = next to the database, "&lt;Database&gt;.journal".</summary>
    public string Directory { get; set; } = "";

    /// <summary>
    /// "disk" (default): an ack waits for fsync of the batch (grouped with the batches written at
    /// the same moment), so acked data survives a power cut. "kernel": the ack waits only for the
    /// write to reach the kernel, which survives the correlator being killed but not the machine.
    /// </summary>
    public string Sync { get; set; } = "disk";

    /// <summary>Size at which a journal segment is sealed and a new one started (bytes).</summary>
    public long SegmentBytes { get; set; } = 32 << 20;

    /// <summary>The journal directory for <paramref name="database"/> when none is configured.</summary>
    public string DirectoryFor(string database) =>
        string.IsNullOrWhiteSpace(Directory) ? Path.GetFullPath(database) + ".journal" : Path.GetFullPath(Directory);

    /// <summary>Whether an ack waits for the disk (fsync) rather than the kernel.</summary>
    public bool SyncToDisk => !string.Equals(Sync, "kernel", StringComparison.OrdinalIgnoreCase);
}
