using HopCapture.Engine.Model;
using HopCapture.Packets.Files;

namespace HopCapture.Agent.Traffic;

/// <summary>
/// The rolling packet capture of one interface (what tcpdump -G/-W does by hand): the first
/// <see cref="Snaplen"/> bytes of every frame in fixed-size slots of one buffer allocated up
/// front, the oldest overwritten first, and nothing older than the maximum age served. A time
/// window is cut out of it as pcapng on request (what editcap -A/-B does). Adding a frame copies
/// it and allocates nothing.
/// </summary>
public sealed class PacketRing
{
    private readonly Lock _gate = new();
    private readonly int _snaplen;
    private readonly long _maxAgeNs;
    private readonly byte[] _data;
    private readonly long[] _timestamps;
    private readonly uint[] _wireLengths;
    private readonly ushort[] _capturedLengths;
    private readonly PacketDirection[] _directions;
    private long _written;

    public PacketRing(int bytes, int snaplen, TimeSpan maxAge)
    {
        _snaplen = snaplen;
        _maxAgeNs = (long)maxAge.TotalNanoseconds;
        var slots = Math.Max(1, bytes / (snaplen + 16));
        _data = new byte[slots * snaplen];
        _timestamps = new long[slots];
        _wireLengths = new uint[slots];
        _capturedLengths = new ushort[slots];
        _directions = new PacketDirection[slots];
    }

    public int Snaplen => _snaplen;

    /// <summary>The DLT of the frames (set by the handle that opens the interface).</summary>
    public int LinkType { get; set; } = Packets.Decoding.LinkType.Ethernet;

    public int Slots => _timestamps.Length;

    public void Add(long tsNs, PacketDirection direction, uint wireLength, ReadOnlySpan<byte> frame)
    {
        var length = Math.Min(frame.Length, _snaplen);
        lock (_gate)
        {
            var slot = (int)(_written++ % _timestamps.Length);
            _timestamps[slot] = tsNs;
            _wireLengths[slot] = wireLength;
            _capturedLengths[slot] = (ushort)length;
            _directions[slot] = direction;
            frame[..length].CopyTo(_data.AsSpan(slot * _snaplen, length));
        }
    }

    /// <summary>
    /// Writes the frames of [<paramref name="fromNs"/>, <paramref name="toNs"/>) that are younger
    /// than the maximum age (relative to the newest frame) as pcapng, in time order, up to
    /// <paramref name="maxBytes"/>. Returns the packets written and whether the limit cut it short.
    /// </summary>
    public (int Packets, bool Truncated) WriteSlice(Stream output, string iface, long fromNs, long toNs, long maxBytes)
    {
        var writer = new PcapNgWriter(output);
        var id = writer.AddInterface(LinkType, _snaplen, iface);
        var packets = 0;
        lock (_gate)
        {
            var count = (int)Math.Min(_written, _timestamps.Length);
            var first = _written - count;
            var newest = count == 0 ? 0 : _timestamps[(int)((_written - 1) % _timestamps.Length)];
            var from = Math.Max(fromNs, newest - _maxAgeNs);

            // Two directions are written by two threads: slots are in arrival order, nearly time
            // order; a sort by timestamp makes the file what a reader expects.
            var order = Enumerable.Range(0, count)
                .Select(i => (int)((first + i) % _timestamps.Length))
                .Where(slot => _timestamps[slot] >= from && _timestamps[slot] < toNs)
                .OrderBy(slot => _timestamps[slot]);
            foreach (var slot in order)
            {
                if (writer.Length + 64 + _capturedLengths[slot] > maxBytes)
                {
                    return (packets, true);
                }

                writer.WritePacket(id, _timestamps[slot], _data.AsSpan(slot * _snaplen, _capturedLengths[slot]), _wireLengths[slot], _directions[slot]);
                packets++;
            }
        }

        return (packets, false);
    }
}
