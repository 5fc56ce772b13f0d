using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;

namespace HopCapture.Agent.Evidence;

/// <summary>One kernel log record: when (unix ns) and its first line.</summary>
internal readonly record struct KernelLine(long TimestampNs, string Text);

/// <summary>
/// New records from <c>/dev/kmsg</c>, read without blocking once per sample: the device is opened
/// at its end (only what happens from now on), each read returns one record, EAGAIN means none
/// left. Records carry CLOCK_MONOTONIC microseconds, turned into wall-clock time here. Network
/// namespaces share one kernel log, so a line is the host's, not the namespace's.
/// </summary>
internal sealed partial class KernelLogReader : IDisposable
{
    private const int ORdonly = 0;
    private const int ONonblock = 0x800;
    private const int OCloexec = 0x80000;
    private const int SeekEnd = 2;
    private const int EAgain = 11;
    private const int EPipe = 32;
    private const int MaxPerSample = 1000;

    private readonly int _fd;
    private readonly byte[] _buffer = new byte[8192];

    private KernelLogReader(int fd) => _fd = fd;

    public static KernelLogReader? TryOpen(string path, out string? reason)
    {
        var fd = open(path, ORdonly | ONonblock | OCloexec);
        if (fd < 0)
        {
            reason = $"{path}: errno {Marshal.GetLastPInvokeError()}";
            return null;
        }

        lseek(fd, 0, SeekEnd);
        reason = null;
        return new KernelLogReader(fd);
    }

    /// <summary>The records logged since the previous call (at most 1000; a flood is cut, not queued).</summary>
    public List<KernelLine> ReadNew(long nowUnixNs)
    {
        var lines = new List<KernelLine>();
        var monotonicNowNs = (long)(Stopwatch.GetTimestamp() * (1e9 / Stopwatch.Frequency));
        while (lines.Count < MaxPerSample)
        {
            var n = read(_fd, _buffer, _buffer.Length);
            if (n < 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno == EPipe)
                {
                    continue; // records were overwritten before we read them: go on with the next
                }

                if (errno != EAgain)
                {
                    throw new IOException($"/dev/kmsg read: errno {errno}");
                }

                break;
            }

            if (Parse(Encoding.UTF8.GetString(_buffer, 0, (int)n), monotonicNowNs, nowUnixNs) is { } line)
            {
                lines.Add(line);
            }
        }

        return lines;
    }

    /// <summary>"pri,seq,usec,flags;text\n KEY=value…": the text's first line, stamped in unix ns.</summary>
    internal static KernelLine? Parse(string record, long monotonicNowNs, long nowUnixNs)
    {
        var semicolon = record.IndexOf(';', StringComparison.Ordinal);
        if (semicolon < 0)
        {
            return null;
        }

        var fields = record[..semicolon].Split(',');
        if (fields.Length < 3 || !long.TryParse(fields[2], NumberStyles.None, CultureInfo.InvariantCulture, out var usec))
        {
            return null;
        }

        var text = record[(semicolon + 1)..];
        var newline = text.IndexOf('\n', StringComparison.Ordinal);
        if (newline >= 0)
        {
            text = text[..newline];
        }

        return new KernelLine(nowUnixNs - (monotonicNowNs - (usec * 1000)), text);
    }

    public void Dispose() => _ = close(_fd);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial long lseek(int fd, long offset, int whence);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint read(int fd, byte[] buffer, nint count);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
