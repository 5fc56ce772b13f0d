using System.Buffers.Binary;
using System.Text;
using HopCapture.Engine.Model;

namespace HopCapture.Packets.Files;

/// <summary>
/// Writes pcapng (draft-ietf-opsawg-pcapng): one section, interfaces with their names and
/// nanosecond timestamps (if_name, if_tsresol = 9), and enhanced packet blocks with the kernel's
/// direction in epb_flags, so Wireshark and tshark show which interface and which way each packet
/// went (<c>frame.interface_name</c>, <c>frame.packet_flags_direction</c>). Little-endian.
/// </summary>
public sealed class PcapNgWriter(Stream output)
{
    private const uint SectionHeaderBlock = 0x0A0D0D0A;
    private const uint InterfaceDescriptionBlock = 1;
    private const uint EnhancedPacketBlock = 6;
    private readonly byte[] _scratch = new byte[64];
    private int _interfaces;
    private bool _started;

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>Declares an interface; returns its id for <see cref="WritePacket"/>.</summary>
    public int AddInterface(int linkType, int snaplen, string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Start();
        var nameBytes = Encoding.UTF8.GetBytes(name);
        var options = Option(nameBytes) + Option([9]) + 4; // if_name, if_tsresol, opt_endofopt
        var body = new byte[8 + options];
        BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)linkType);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), (uint)snaplen);
        var at = 8;
        at += WriteOption(body.AsSpan(at), 2, nameBytes);
        WriteOption(body.AsSpan(at), 9, [9]);
        Block(InterfaceDescriptionBlock, body);
        return _interfaces++;
    }

    public void WritePacket(int interfaceId, long timestampNs, ReadOnlySpan<byte> captured, uint wireLength, PacketDirection direction)
    {
        var flags = direction switch
        {
            PacketDirection.In => 1u,
            PacketDirection.Out => 2u,
            _ => 0u,
        };
        var padded = Pad(captured.Length);
        var total = 12 + 20 + padded + (flags != 0 ? 8 + 4 : 0);
        var header = _scratch.AsSpan(0, 28);
        BinaryPrimitives.WriteUInt32LittleEndian(header, EnhancedPacketBlock);
        BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)total);
        BinaryPrimitives.WriteUInt32LittleEndian(header[8..], (uint)interfaceId);
        BinaryPrimitives.WriteUInt32LittleEndian(header[12..], (uint)((ulong)timestampNs >> 32));
        BinaryPrimitives.WriteUInt32LittleEndian(header[16..], (uint)timestampNs);
        BinaryPrimitives.WriteUInt32LittleEndian(header[20..], (uint)captured.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(header[24..], wireLength);
        output.Write(header);
        output.Write(captured);
        output.Write(_scratch.AsSpan(32, padded - captured.Length)); // zeros
        var tail = _scratch.AsSpan(48, 16);
        tail.Clear();
        var at = 0;
        if (flags != 0)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(tail, 2);          // epb_flags
            BinaryPrimitives.WriteUInt16LittleEndian(tail[2..], 4);
            BinaryPrimitives.WriteUInt32LittleEndian(tail[4..], flags);
            at = 12;                                                      // + opt_endofopt
        }

        BinaryPrimitives.WriteUInt32LittleEndian(tail[at..], (uint)total);
        output.Write(tail[..(at + 4)]);
        Length += total;
        _scratch.AsSpan(32, 16).Clear();
    }

    private void Start()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        var body = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(body, 0x1A2B3C4D);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), 1);
        BinaryPrimitives.WriteInt64LittleEndian(body.AsSpan(8), -1); // section length not given
        Block(SectionHeaderBlock, body);
    }

    private void Block(uint type, byte[] body)
    {
        var total = 12 + body.Length;
        var buffer = new byte[total];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, type);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(4), (uint)total);
        body.CopyTo(buffer, 8);
        BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(total - 4), (uint)total);
        output.Write(buffer);
        Length += total;
    }

    private static int Pad(int length) => (length + 3) & ~3;

    private static int Option(byte[] value) => 4 + Pad(value.Length);

    private static int WriteOption(Span<byte> destination, ushort code, byte[] value)
    {
        BinaryPrimitives.WriteUInt16LittleEndian(destination, code);
        BinaryPrimitives.WriteUInt16LittleEndian(destination[2..], (ushort)value.Length);
        value.CopyTo(destination[4..]);
        return 4 + Pad(value.Length);
    }
}
