using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using HopCapture.Packets.Decoding;

namespace HopCapture.Agent.Probing;

/// <summary>A reply to one of our probes, as the raw socket received it.</summary>
public readonly record struct ProbeReply(DecodedEcho Echo, long SendNs, uint Tag, long ReceiveNs);

/// <summary>
/// IPv4 ICMP echo over a raw socket (needs root or CAP_NET_RAW). The kernel hands a raw ICMP
/// socket a copy of every ICMP packet the host receives, IP header included: replies are picked
/// by type and by our payload's magic, decoded with the capture decoder, and time-stamped as
/// soon as the blocking receive returns, so the application round trip includes the stack.
/// </summary>
public sealed class IcmpSocket : IDisposable
{
    private readonly Socket _socket;
    private readonly TimeProvider _time;
    private readonly byte[] _sendBuffer = new byte[8 + ProbePayload.MaxSize];
    private readonly Lock _sendGate = new();
    private int _disposed;

    public IcmpSocket(TimeProvider timeProvider)
    {
        _time = timeProvider;
        _socket = new Socket(AddressFamily.InterNetwork, SocketType.Raw, ProtocolType.Icmp);
        _socket.ReceiveBufferSize = 1 << 20;
    }

    /// <summary>Sends one echo request; returns the send time written into the payload (unix ns).</summary>
    public long Send(IPAddress target, ushort id, ushort seq, int payloadSize, uint tag)
    {
        ArgumentNullException.ThrowIfNull(target);
        payloadSize = Math.Clamp(payloadSize, ProbePayload.MinSize, ProbePayload.MaxSize);
        lock (_sendGate)
        {
            var packet = _sendBuffer.AsSpan(0, 8 + payloadSize);
            packet[0] = 8; // echo request
            packet[1] = 0;
            BinaryPrimitives.WriteUInt16BigEndian(packet[4..], id);
            BinaryPrimitives.WriteUInt16BigEndian(packet[6..], seq);
            var sendNs = NowNs();
            ProbePayload.Write(packet[8..], sendNs, tag);
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], 0);
            BinaryPrimitives.WriteUInt16BigEndian(packet[2..], InternetChecksum.Compute(packet));
            _socket.SendTo(packet, SocketFlags.None, new IPEndPoint(target, 0));
            return sendNs;
        }
    }

    /// <summary>
    /// Blocks until a reply to one of our probes arrives (other ICMP is skipped) or the socket is
    /// disposed (then false). Call from one dedicated thread.
    /// </summary>
    public bool TryReceive(byte[] buffer, out ProbeReply reply)
    {
        ArgumentNullException.ThrowIfNull(buffer);
        while (true)
        {
            int length;
            try
            {
                length = _socket.Receive(buffer);
            }
            catch (ObjectDisposedException)
            {
                reply = default;
                return false;
            }
            catch (SocketException ex) when (ex.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.Shutdown or SocketError.NotSocket)
            {
                reply = default;
                return false;
            }

            var receiveNs = NowNs();
            var packet = buffer.AsSpan(0, length);
            if (EchoDecoder.Decode(packet, LinkType.Raw, (uint)length, out var echo) != DecodeStatus.Ok
                || echo.Type != Engine.Model.EchoType.Reply)
            {
                continue;
            }

            var headerLength = (packet[0] & 0x0f) * 4;
            if (packet.Length < headerLength + 8 || !ProbePayload.TryRead(packet[(headerLength + 8)..], out var sendNs, out var tag))
            {
                continue;
            }

            reply = new ProbeReply(echo, sendNs, tag, receiveNs);
            return true;
        }
    }

    /// <summary>The source address the kernel routes from toward <paramref name="target"/> (no packet is sent).</summary>
    public static IPAddress SourceFor(IPAddress target)
    {
        ArgumentNullException.ThrowIfNull(target);
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        probe.Connect(new IPEndPoint(target, 9));
        return ((IPEndPoint)probe.LocalEndPoint!).Address;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
            // a raw socket is not connected; closing below still wakes the receiver
        }

        _socket.Dispose();
    }

    private long NowNs() => (_time.GetUtcNow().UtcTicks - DateTime.UnixEpoch.Ticks) * 100;
}
