namespace HopCapture.Durability;

/// <summary>
/// Reads a <see cref="RecordLog"/>'s records by index through its own file handle, so the
/// writer is never blocked by disk reads. A segment deleted under it (drop-oldest) is skipped:
/// the next read finds the oldest record still held. One reader per consuming thread.
/// </summary>
public sealed class RecordLogReader : IDisposable
{
    private readonly RecordLog _log;
    private FileStream? _stream;
    private string _path = "";

    internal RecordLogReader(RecordLog log) => _log = log;

    /// <summary>
    /// The first record at or after <paramref name="index"/>: its index and payload. False when
    /// there is none (yet), or when it fails its checksum on re-reading (the disk changed under
    /// the log); the caller may try again after more appends.
    /// </summary>
    public bool TryReadAtOrAfter(ulong index, out ulong found, out byte[] payload)
    {
        payload = [];
        for (var attempt = 0; attempt < 3; attempt++)
        {
            if (!_log.TryLocate(index, out found, out var path, out var offset))
            {
                return false;
            }

            try
            {
                if (_stream is null || _path != path)
                {
                    _stream?.Dispose();
                    _stream = null;
                    _stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
                    _path = path;
                }

                if (RecordLog.ReadRecord(_stream, offset, _log.MaxRecordBytes) is { } record)
                {
                    payload = record;
                    return true;
                }

                return false;
            }
            catch (FileNotFoundException)
            {
                // Dropped while we looked it up: the next lookup lands on the oldest segment left.
                _stream = null;
            }
        }

        found = 0;
        return false;
    }

    /// <summary>Every record from <paramref name="index"/> on, as held now.</summary>
    public IEnumerable<(ulong Index, byte[] Payload)> ReadFrom(ulong index)
    {
        while (TryReadAtOrAfter(index, out var found, out var payload))
        {
            yield return (found, payload);
            index = found + 1;
        }
    }

    public void Dispose()
    {
        _stream?.Dispose();
        _stream = null;
    }
}
