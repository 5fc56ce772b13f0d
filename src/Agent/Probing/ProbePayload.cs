using System.Buffers.Binary;
using HopCapture.Packets.Decoding;

namespace HopCapture.Agent.Probing;

/// <summary>
/// The echo payload of our probes: magic "HCp1", the send time (unix ns, big-endian) and a tag
/// of the plan or trace, then zero padding. Those first 16 bytes are exactly what the decoder
/// hashes into the probe key, so every probe's key is unique even when id/seq wrap.
/// </summary>
public static class ProbePayload
{
    public const int HeaderBytes = 16;
    public const int MinSize = HeaderBytes;
    public const int MaxSize = 1400;
    public const int DefaultSize = 56;

    private const uint Magic = 0x48437031; // "HCp1"

    public static void Write(Span<byte> payload, long sendNs, uint tag)
    {
        if (payload.Length < HeaderBytes)
        {
            throw new ArgumentException($"a probe payload needs at least {HeaderBytes} bytes", nameof(payload));
        }

        payload.Clear();
        BinaryPrimitives.WriteUInt32BigEndian(payload, Magic);
        BinaryPrimitives.WriteInt64BigEndian(payload[4..], sendNs);
        BinaryPrimitives.WriteUInt32BigEndian(payload[12..], tag);
    }

    /// <summary>True when <paramref name="payload"/> is one of ours; gives its send time and tag.</summary>
    public static bool TryRead(ReadOnlySpan<byte> payload, out long sendNs, out uint tag)
    {
        sendNs = 0;
        tag = 0;
        if (payload.Length < HeaderBytes || BinaryPrimitives.ReadUInt32BigEndian(payload) != Magic)
        {
            return false;
        }

        sendNs = BinaryPrimitives.ReadInt64BigEndian(payload[4..]);
        tag = BinaryPrimitives.ReadUInt32BigEndian(payload[12..]);
        return true;
    }

    /// <summary>The key hash the capture points compute for this payload (the decoder's function, not a copy).</summary>
    public static uint Hash(ReadOnlySpan<byte> payload) => EchoDecoder.PayloadHash(payload, payload.Length);

    /// <summary>A stable 32-bit tag for a plan or trace id (FNV-1a over its UTF-16 code units).</summary>
    public static uint Tag(string id)
    {
        ArgumentNullException.ThrowIfNull(id);
        var hash = 2166136261u;
        foreach (var c in id)
        {
            hash = (hash ^ c) * 16777619u;
        }

        return hash;
    }
}
