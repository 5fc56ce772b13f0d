using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;

namespace HopCapture.Durability;

/// <summary>
/// An append-only log of byte records on disk, numbered from 1 without reuse, in segment files
/// named by their first record's index. Each record is <c>[u32 length][u32 crc32 of length and
/// payload][payload]</c>, so opening after a crash finds exactly where the last whole record ends:
/// a torn or corrupt tail is cut and counted (<see cref="Recovery"/>), never a reason not to start.
/// Bounded by <see cref="RecordLogOptions.MaxBytes"/> by deleting the oldest sealed segments
/// (counted). The numbering survives restarts and deletions because the active segment is never
/// deleted and its name carries the index. Thread-safe; appends are written through a buffer that
/// <see cref="Flush"/> hands to the kernel (survives the process) or to the disk (survives power).
/// </summary>
public sealed class RecordLog : IDisposable
{
    internal const int HeaderBytes = 16;
    internal const int RecordHeaderBytes = 8;
    private const uint Magic = 0x4C524348; // "HCRL"
    private const uint FormatVersion = 1;
    private const string Extension = ".seg";

    private readonly Lock _gate = new();
    private readonly string _directory;
    private readonly RecordLogOptions _options;
    private readonly long _segmentBytes;
    private readonly List<Segment> _segments = [];
    private readonly Crc32 _crc = new();
    private readonly byte[] _recordHeader = new byte[RecordHeaderBytes];
    private FileStream _active;
    private long _bytes;
    private long _droppedRecords;
    private bool _disposed;

    private RecordLog(string directory, RecordLogOptions options, List<Segment> segments, RecordLogRecovery recovery)
    {
        _directory = directory;
        _options = options;
        _segmentBytes = options.MaxBytes > 0
            ? Math.Clamp(options.SegmentBytes, 4096, Math.Max(4096, options.MaxBytes / 4))
            : Math.Max(4096, options.SegmentBytes);
        _segments = segments;
        Recovery = recovery;
        if (_segments.Count == 0)
        {
            _segments.Add(CreateSegment(1));
        }

        _bytes = _segments.Sum(s => s.Length);
        var last = _segments[^1];
        _active = new FileStream(last.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        _active.Seek(last.Length, SeekOrigin.Begin);
    }

    /// <summary>What opening found (records, cut bytes).</summary>
    public RecordLogRecovery Recovery { get; }

    public string Directory => _directory;

    /// <summary>Index of the oldest record held (equal to <see cref="NextIndex"/> when empty).</summary>
    public ulong FirstIndex
    {
        get
        {
            lock (_gate)
            {
                var first = _segments.FirstOrDefault(s => s.Count > 0);
                return first?.First ?? _segments[^1].First + (ulong)_segments[^1].Count;
            }
        }
    }

    /// <summary>Index the next <see cref="Append"/> returns.</summary>
    public ulong NextIndex
    {
        get
        {
            lock (_gate)
            {
                return _segments[^1].First + (ulong)_segments[^1].Count;
            }
        }
    }

    /// <summary>Records held.</summary>
    public long Count
    {
        get
        {
            lock (_gate)
            {
                return _segments.Sum(s => (long)s.Count);
            }
        }
    }

    /// <summary>Bytes on disk, headers included.</summary>
    public long Bytes
    {
        get
        {
            lock (_gate)
            {
                return _bytes;
            }
        }
    }

    /// <summary>Records deleted unread because the log was full (drop-oldest).</summary>
    public long DroppedRecords => Interlocked.Read(ref _droppedRecords);

    /// <summary>Opens (creating it if needed) the log in <paramref name="directory"/>, cutting a torn tail.</summary>
    /// <exception cref="IOException">The directory cannot be created or a segment cannot be read or truncated.</exception>
    /// <exception cref="UnauthorizedAccessException">The directory or a segment is not accessible.</exception>
    public static RecordLog Open(string directory, RecordLogOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        options ??= new RecordLogOptions();
        directory = Path.GetFullPath(directory);
        System.IO.Directory.CreateDirectory(directory);
        var segments = new List<Segment>();
        long records = 0, cutBytes = 0;
        var cutSegments = 0;
        foreach (var (first, path) in ListSegments(directory))
        {
            var scan = Scan(path, first, options.MaxRecordBytes);
            if (scan is null)
            {
                // Not even a whole header: a segment torn at creation holds nothing.
                cutBytes += new FileInfo(path).Length;
                cutSegments++;
                File.Delete(path);
                continue;
            }

            if (scan.CutBytes > 0)
            {
                using (var truncate = new FileStream(path, FileMode.Open, FileAccess.Write))
                {
                    truncate.SetLength(scan.Segment.Length);
                    truncate.Flush(flushToDisk: true);
                }

                cutBytes += scan.CutBytes;
                cutSegments++;
            }

            records += scan.Segment.Count;
            segments.Add(scan.Segment);
        }

        var recovery = new RecordLogRecovery(records, segments.Count, cutBytes, cutSegments);
        return new RecordLog(directory, options, segments, recovery);
    }

    /// <summary>Appends one record; returns its index. Buffered until <see cref="Flush"/>.</summary>
    public ulong Append(ReadOnlySpan<byte> payload)
    {
        if (payload.Length > _options.MaxRecordBytes)
        {
            throw new ArgumentException($"a record of {payload.Length} bytes exceeds the log's limit of {_options.MaxRecordBytes}", nameof(payload));
        }

        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var active = _segments[^1];
            if (active.Length >= _segmentBytes && active.Count > 0)
            {
                Roll(active.First + (ulong)active.Count);
                active = _segments[^1];
            }

            BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader, (uint)payload.Length);
            _crc.Reset();
            _crc.Append(_recordHeader.AsSpan(0, 4));
            _crc.Append(payload);
            BinaryPrimitives.WriteUInt32LittleEndian(_recordHeader.AsSpan(4), _crc.GetCurrentHashAsUInt32());
            try
            {
                _active.Write(_recordHeader);
                _active.Write(payload);
            }
            catch (IOException)
            {
                RollBackToFlushed();
                throw;
            }

            var index = active.First + (ulong)active.Count;
            active.Offsets.Add(active.Length);
            active.Count++;
            var size = RecordHeaderBytes + payload.Length;
            active.Length += size;
            _bytes += size;
            DropOldestWhileFull();
            return index;
        }
    }

    /// <summary>
    /// Hands buffered appends to the kernel (they survive the process being killed) and, when
    /// <paramref name="toDisk"/>, waits for the disk (they survive a power cut).
    /// </summary>
    public void Flush(bool toDisk)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                _active.Flush(toDisk);
            }
            catch (IOException)
            {
                RollBackToFlushed();
                throw;
            }

            _segments[^1].Flushed = _segments[^1].Count;
        }
    }

    /// <summary>
    /// A write or flush failed (disk full, I/O error): the records appended since the last good
    /// flush are taken back — the file is cut to where they began and their indices are reused —
    /// so no half-written record sits in front of later ones. The caller reports them as not written.
    /// </summary>
    private void RollBackToFlushed()
    {
        var active = _segments[^1];
        var keep = active.Flushed < active.Count ? active.Offsets[active.Flushed] : active.Length;
        try
        {
            _active.Dispose();
        }
        catch (IOException)
        {
            // Its buffer could not be written either; what reached the file is cut below.
        }

        _active = new FileStream(active.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        _active.SetLength(keep);
        _active.Seek(keep, SeekOrigin.Begin);
        _bytes -= active.Length - keep;
        active.Length = keep;
        active.Offsets.RemoveRange(active.Flushed, active.Count - active.Flushed);
        active.Count = active.Flushed;
    }

    /// <summary>Deletes the sealed segments whose records are all at or below <paramref name="index"/>; returns the records deleted.</summary>
    public long DeleteThrough(ulong index)
    {
        lock (_gate)
        {
            long deleted = 0;
            while (_segments.Count > 1 && _segments[0].First + (ulong)_segments[0].Count - 1 <= index)
            {
                deleted += _segments[0].Count;
                RemoveOldest();
            }

            return deleted;
        }
    }

    /// <summary>
    /// Makes the next index at least <paramref name="next"/> (a peer already holds records up to
    /// it, e.g. after this log was lost): starts a new segment there.
    /// </summary>
    public void AdvanceTo(ulong next)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var active = _segments[^1];
            if (next > active.First + (ulong)active.Count)
            {
                Roll(next);
            }
        }
    }

    /// <summary>A reader of this log's records by index, with its own file handle; one per consuming thread.</summary>
    public RecordLogReader OpenReader() => new(this);

    /// <summary>
    /// Where the first record at or after <paramref name="index"/> lies (flushing it to the kernel
    /// if it is still buffered); false when there is none yet.
    /// </summary>
    internal bool TryLocate(ulong index, out ulong found, out string path, out long offset)
    {
        lock (_gate)
        {
            found = 0;
            path = "";
            offset = 0;
            if (_disposed)
            {
                return false;
            }

            foreach (var segment in _segments)
            {
                var end = segment.First + (ulong)segment.Count;
                if (index >= end)
                {
                    continue;
                }

                var at = Math.Max(index, segment.First);
                var position = (int)(at - segment.First);
                if (segment == _segments[^1] && position >= segment.Flushed)
                {
                    _active.Flush(false);
                    segment.Flushed = segment.Count;
                }

                found = at;
                path = segment.Path;
                offset = segment.Offsets[position];
                return true;
            }

            return false;
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                _active.Flush(true);
            }
            finally
            {
                _active.Dispose();
            }
        }
    }

    /// <summary>Reads and checks one record at <paramref name="offset"/> of an open segment; null when it is not whole.</summary>
    internal static byte[]? ReadRecord(Stream stream, long offset, int maxRecordBytes)
    {
        Span<byte> header = stackalloc byte[RecordHeaderBytes];
        stream.Seek(offset, SeekOrigin.Begin);
        if (stream.ReadAtLeast(header, RecordHeaderBytes, throwOnEndOfStream: false) < RecordHeaderBytes)
        {
            return null;
        }

        var length = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (length > (uint)maxRecordBytes || length > stream.Length - offset - RecordHeaderBytes)
        {
            return null;
        }

        var payload = new byte[length];
        if (stream.ReadAtLeast(payload, payload.Length, throwOnEndOfStream: false) < payload.Length)
        {
            return null;
        }

        var crc = new Crc32();
        crc.Append(header[..4]);
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32() == BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) ? payload : null;
    }

    internal int MaxRecordBytes => _options.MaxRecordBytes;

    private static IEnumerable<(ulong First, string Path)> ListSegments(string directory) =>
        System.IO.Directory.EnumerateFiles(directory, "*" + Extension)
            .Select(path => (Ok: ulong.TryParse(Path.GetFileNameWithoutExtension(path), NumberStyles.None, CultureInfo.InvariantCulture, out var first), First: first, Path: path))
            .Where(s => s.Ok && s.First > 0)
            .OrderBy(s => s.First)
            .Select(s => (s.First, s.Path));

    private static ScanResult? Scan(string path, ulong first, int maxRecordBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16, FileOptions.SequentialScan);
        Span<byte> header = stackalloc byte[HeaderBytes];
        if (stream.ReadAtLeast(header, HeaderBytes, throwOnEndOfStream: false) < HeaderBytes
            || BinaryPrimitives.ReadUInt32LittleEndian(header) != Magic
            || BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) != FormatVersion
            || BinaryPrimitives.ReadUInt64LittleEndian(header[8..]) != first)
        {
            return null;
        }

        var segment = new Segment(path, first) { Length = HeaderBytes };
        var length = stream.Length;
        while (segment.Length < length)
        {
            var payload = ReadRecord(stream, segment.Length, maxRecordBytes);
            if (payload is null)
            {
                break;
            }

            segment.Offsets.Add(segment.Length);
            segment.Count++;
            segment.Length += RecordHeaderBytes + payload.Length;
        }

        segment.Flushed = segment.Count;
        return new ScanResult(segment, length - segment.Length);
    }

    private Segment CreateSegment(ulong first)
    {
        var path = Path.Combine(_directory, first.ToString("D20", CultureInfo.InvariantCulture) + Extension);
        Span<byte> header = stackalloc byte[HeaderBytes];
        BinaryPrimitives.WriteUInt32LittleEndian(header, Magic);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], FormatVersion);
        BinaryPrimitives.WriteUInt64LittleEndian(header[8..], first);
        using (var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete))
        {
            stream.Write(header);
            stream.Flush(flushToDisk: true);
        }

        return new Segment(path, first) { Length = HeaderBytes };
    }

    /// <summary>Seals the active segment (to disk) and starts a new one at <paramref name="first"/>.</summary>
    private void Roll(ulong first)
    {
        _active.Flush(true);
        _active.Dispose();
        var sealedSegment = _segments[^1];
        sealedSegment.Flushed = sealedSegment.Count;
        if (sealedSegment.Count == 0)
        {
            // An empty segment only held the numbering, which the new one's name carries on.
            File.Delete(sealedSegment.Path);
            _bytes -= sealedSegment.Length;
            _segments.RemoveAt(_segments.Count - 1);
        }

        var segment = CreateSegment(first);
        _segments.Add(segment);
        _bytes += segment.Length;
        _active = new FileStream(segment.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1 << 16);
        _active.Seek(segment.Length, SeekOrigin.Begin);
    }

    private void DropOldestWhileFull()
    {
        if (_options.MaxBytes <= 0)
        {
            return;
        }

        while (_bytes > _options.MaxBytes && _segments.Count > 1)
        {
            Interlocked.Add(ref _droppedRecords, _segments[0].Count);
            RemoveOldest();
        }
    }

    private void RemoveOldest()
    {
        var oldest = _segments[0];
        _segments.RemoveAt(0);
        _bytes -= oldest.Length;
        File.Delete(oldest.Path);
    }

    private sealed record ScanResult(Segment Segment, long CutBytes);

    private sealed class Segment(string path, ulong first)
    {
        public string Path { get; } = path;

        public ulong First { get; } = first;

        public int Count { get; set; }

        /// <summary>Records handed to the kernel (readable by another handle).</summary>
        public int Flushed { get; set; }

        public long Length { get; set; }

        /// <summary>Offset of each record, so a reader seeks straight to an index.</summary>
        public List<long> Offsets { get; } = [];
    }
}
