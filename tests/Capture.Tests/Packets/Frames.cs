using System.Buffers.Binary;
using System.Net;

namespace HopCapture.Tests.Packets;

/// <summary>Hand-built frames, byte by byte, so decoder tests do not trust any other decoder.</summary>
internal static class Frames
{
    public static readonly byte[] MacA = [0x02, 0, 0, 0, 0, 0x01];
    public static readonly byte[] MacB = [0x02, 0, 0, 0, 0, 0x02];

    public static byte[] Payload(int length)
    {
        var payload = new byte[length];
        for (var i = 0; i < length; i++)
        {
            payload[i] = (byte)(0x10 + i);
        }

        return payload;
    }

    public static byte[] Icmp(byte type, ushort id, ushort seq, byte[] payload)
    {
        var icmp = new byte[8 + payload.Length];
        icmp[0] = type;
        BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(4), id);
        BinaryPrimitives.WriteUInt16BigEndian(icmp.AsSpan(6), seq);
        payload.CopyTo(icmp, 8);
        return icmp;
    }

    public static byte[] IPv4(string src, string dst, byte protocol, byte[] payload, ushort fragment = 0)
    {
        var ip = new byte[20 + payload.Length];
        ip[0] = 0x45;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(2), (ushort)ip.Length);
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(6), fragment);
        ip[8] = 64;
        ip[9] = protocol;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(ip, 12);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(ip, 16);
        payload.CopyTo(ip, 20);
        return ip;
    }

    /// <summary>IPv6 with optional extension headers given as (type, bytes) in order.</summary>
    public static byte[] IPv6(string src, string dst, byte protocol, byte[] payload, params (byte Type, byte[] Bytes)[] extensions)
    {
        var body = new List<byte>();
        var next = protocol;
        for (var i = extensions.Length - 1; i >= 0; i--)
        {
            var ext = (byte[])extensions[i].Bytes.Clone();
            ext[0] = next;
            next = extensions[i].Type;
            body.InsertRange(0, ext);
        }

        body.AddRange(payload);
        var ip = new byte[40 + body.Count];
        ip[0] = 0x60;
        BinaryPrimitives.WriteUInt16BigEndian(ip.AsSpan(4), (ushort)body.Count);
        ip[6] = next;
        ip[7] = 64;
        IPAddress.Parse(src).GetAddressBytes().CopyTo(ip, 8);
        IPAddress.Parse(dst).GetAddressBytes().CopyTo(ip, 24);
        body.ToArray().CopyTo(ip, 40);
        return ip;
    }

    public static byte[] Ethernet(ushort etherType, byte[] payload, params (ushort Tpid, ushort Vid)[] tags)
    {
        var frame = new List<byte>();
        frame.AddRange(MacB);
        frame.AddRange(MacA);
        foreach (var (tpid, vid) in tags)
        {
            frame.Add((byte)(tpid >> 8));
            frame.Add((byte)tpid);
            frame.Add((byte)(vid >> 8));
            frame.Add((byte)vid);
        }

        frame.Add((byte)(etherType >> 8));
        frame.Add((byte)etherType);
        frame.AddRange(payload);
        return [.. frame];
    }

    public static byte[] Sll(ushort protocol, byte[] payload)
    {
        var header = new byte[16];
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(0), 0); // to us
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), 1); // ARPHRD_ETHER
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(4), 6);
        MacA.CopyTo(header, 6);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(14), protocol);
        return [.. header, .. payload];
    }

    public static byte[] Sll2(ushort protocol, byte[] payload)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(0), protocol);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), 7); // ifindex
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(8), 1);
        header[10] = 4; // outgoing
        header[11] = 6;
        MacA.CopyTo(header, 12);
        return [.. header, .. payload];
    }

    public static byte[] Udp(ushort dstPort, byte[] payload)
    {
        var udp = new byte[8 + payload.Length];
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(0), 40000);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(2), dstPort);
        BinaryPrimitives.WriteUInt16BigEndian(udp.AsSpan(4), (ushort)udp.Length);
        payload.CopyTo(udp, 8);
        return udp;
    }

    public static byte[] Vxlan(byte[] innerFrame)
    {
        var header = new byte[8];
        header[0] = 0x08;
        header[6] = 0x01; // VNI 0x000001 << 8
        return [.. header, .. innerFrame];
    }

    public static byte[] Geneve(ushort protocol, byte[] inner, int optionBytes)
    {
        var header = new byte[8 + optionBytes];
        header[0] = (byte)(optionBytes / 4);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), protocol);
        for (var i = 8; i < header.Length; i++)
        {
            header[i] = 0xEE; // option bytes the decoder must skip, not read
        }

        return [.. header, .. inner];
    }

    public static byte[] Gre(ushort flags, ushort protocol, byte[] inner)
    {
        var length = 4 + (((flags & 0x8000) != 0) ? 4 : 0) + (((flags & 0x2000) != 0) ? 4 : 0) + (((flags & 0x1000) != 0) ? 4 : 0);
        var header = new byte[length];
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(0), flags);
        BinaryPrimitives.WriteUInt16BigEndian(header.AsSpan(2), protocol);
        for (var i = 4; i < header.Length; i++)
        {
            header[i] = 0xAB;
        }

        return [.. header, .. inner];
    }

    /// <summary>A plain Ethernet/IPv4 echo, the most common frame.</summary>
    public static byte[] EthernetEcho(byte type, string src, string dst, ushort id, ushort seq, int payloadLength = 56) =>
        Ethernet(0x0800, IPv4(src, dst, 1, Icmp(type, id, seq, Payload(payloadLength))));
}
