using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace HopCapture.Agent.Evidence;

/// <summary>A root qdisc's counters: what <c>tc -s qdisc</c> prints as dropped, overlimits and backlog.</summary>
internal readonly record struct QdiscStats(string Kind, long Drops, long Overlimits, long BacklogBytes, long BacklogPackets);

/// <summary>
/// Root qdisc statistics of every device, by ifindex, from one rtnetlink dump (RTM_GETQDISC with
/// NLM_F_DUMP) on a socket opened once in the agent's network namespace. sysfs has no qdisc
/// counters, and running <c>tc -s qdisc</c> every second would cost a fork and exec each time;
/// the dump is one request and a few kilobytes back.
/// </summary>
internal sealed partial class QdiscReader : IDisposable
{
    private const int AfNetlink = 16;
    private const int SockRaw = 3;
    private const int SockCloexec = 0x80000;
    private const int NetlinkRoute = 0;
    private const ushort RtmNewQdisc = 36;
    private const ushort RtmGetQdisc = 38;
    private const ushort NlmsgError = 2;
    private const ushort NlmsgDone = 3;
    private const ushort NlmFRequest = 1;
    private const ushort NlmFDump = 0x300;
    private const ushort TcaKind = 1;
    private const ushort TcaStats2 = 7;
    private const ushort TcaStatsQueue = 3;
    private const ushort TcaStats = 3;
    private const uint TcHRoot = 0xFFFFFFFF;
    private const int HeaderLength = 16;
    private const int TcmsgLength = 20;

    private readonly int _fd;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private uint _seq;

    private QdiscReader(int fd) => _fd = fd;

    /// <summary>A reader, or null with the reason when netlink is not available here.</summary>
    public static QdiscReader? TryOpen(out string? reason)
    {
        var fd = socket(AfNetlink, SockRaw | SockCloexec, NetlinkRoute);
        if (fd < 0)
        {
            reason = $"netlink socket: errno {Marshal.GetLastPInvokeError()}";
            return null;
        }

        reason = null;
        return new QdiscReader(fd);
    }

    /// <summary>Root qdiscs by ifindex (ingress and child qdiscs are left out: the root counts for the device).</summary>
    public Dictionary<int, QdiscStats> Read()
    {
        var request = new byte[HeaderLength + TcmsgLength];
        var seq = ++_seq;
        BinaryPrimitives.WriteUInt32LittleEndian(request, (uint)request.Length);
        BinaryPrimitives.WriteUInt16LittleEndian(request.AsSpan(4), RtmGetQdisc);
        BinaryPrimitives.WriteUInt16LittleEndian(request.AsSpan(6), NlmFRequest | NlmFDump);
        BinaryPrimitives.WriteUInt32LittleEndian(request.AsSpan(8), seq);
        if (send(_fd, request, request.Length, 0) < 0)
        {
            throw new IOException($"netlink send: errno {Marshal.GetLastPInvokeError()}");
        }

        var result = new Dictionary<int, QdiscStats>();
        while (true)
        {
            var received = recv(_fd, _buffer, _buffer.Length, 0);
            if (received < 0)
            {
                throw new IOException($"netlink recv: errno {Marshal.GetLastPInvokeError()}");
            }

            var data = _buffer.AsSpan(0, (int)received);
            while (data.Length >= HeaderLength)
            {
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(data);
                var type = BinaryPrimitives.ReadUInt16LittleEndian(data[4..]);
                if (length < HeaderLength || length > data.Length)
                {
                    break;
                }

                if (BinaryPrimitives.ReadUInt32LittleEndian(data[8..]) == seq)
                {
                    if (type == NlmsgDone)
                    {
                        return result;
                    }

                    if (type == NlmsgError)
                    {
                        throw new IOException($"netlink qdisc dump: error {-BinaryPrimitives.ReadInt32LittleEndian(data[HeaderLength..])}");
                    }

                    if (type == RtmNewQdisc)
                    {
                        Parse(data[HeaderLength..length], result);
                    }
                }

                data = data[Math.Min(Align(length), data.Length)..];
            }
        }
    }

    public void Dispose() => _ = close(_fd);

    internal static void Parse(ReadOnlySpan<byte> message, Dictionary<int, QdiscStats> into)
    {
        if (message.Length < TcmsgLength)
        {
            return;
        }

        var ifIndex = BinaryPrimitives.ReadInt32LittleEndian(message[4..]);
        var parent = BinaryPrimitives.ReadUInt32LittleEndian(message[12..]);
        if (parent != TcHRoot)
        {
            return;
        }

        string kind = "";
        QdiscStats? stats = null;
        foreach (var (type, memory) in Attributes(message[TcmsgLength..]))
        {
            var payload = memory.Span;
            if (type == TcaKind)
            {
                kind = System.Text.Encoding.ASCII.GetString(payload).TrimEnd('\0');
            }
            else if (type == TcaStats2)
            {
                foreach (var (nested, nestedMemory) in Attributes(payload))
                {
                    var value = nestedMemory.Span;
                    // struct gnet_stats_queue { qlen, backlog, drops, requeues, overlimits }
                    if (nested == TcaStatsQueue && value.Length >= 20)
                    {
                        stats = new QdiscStats("", BinaryPrimitives.ReadUInt32LittleEndian(value[8..]), BinaryPrimitives.ReadUInt32LittleEndian(value[16..]),
                            BinaryPrimitives.ReadUInt32LittleEndian(value[4..]), BinaryPrimitives.ReadUInt32LittleEndian(value));
                    }
                }
            }
            else if (type == TcaStats && stats is null && payload.Length >= 36)
            {
                // struct tc_stats { u64 bytes; u32 packets, drops, overlimits, bps, pps, qlen, backlog }
                stats = new QdiscStats("", BinaryPrimitives.ReadUInt32LittleEndian(payload[12..]), BinaryPrimitives.ReadUInt32LittleEndian(payload[16..]),
                    BinaryPrimitives.ReadUInt32LittleEndian(payload[32..]), BinaryPrimitives.ReadUInt32LittleEndian(payload[28..]));
            }
        }

        if (stats is { } found)
        {
            into[ifIndex] = found with { Kind = kind };
        }
    }

    private static List<(ushort Type, ReadOnlyMemory<byte> Payload)> Attributes(ReadOnlySpan<byte> data)
    {
        var list = new List<(ushort, ReadOnlyMemory<byte>)>();
        while (data.Length >= 4)
        {
            var length = BinaryPrimitives.ReadUInt16LittleEndian(data);
            var type = (ushort)(BinaryPrimitives.ReadUInt16LittleEndian(data[2..]) & 0x3FFF);
            if (length < 4 || length > data.Length)
            {
                break;
            }

            list.Add((type, data[4..length].ToArray()));
            data = data[Math.Min(Align(length), data.Length)..];
        }

        return list;
    }

    private static int Align(int length) => (length + 3) & ~3;

    [LibraryImport("libc", SetLastError = true)]
    private static partial int socket(int domain, int type, int protocol);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint send(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial nint recv(int fd, byte[] buffer, nint length, int flags);

    [LibraryImport("libc")]
    private static partial int close(int fd);
}
