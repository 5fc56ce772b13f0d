namespace HopCapture.Correlator.Storage;

/// <summary>LEB128 varints and zigzag signs, as protobuf writes them: the stored forms' small numbers take one or two bytes.</summary>
public static class Varint
{
    /// <summary>Writes <paramref name="value"/> at <paramref name="at"/>; returns the position after it.</summary>
    public static int Write(Span<byte> buffer, int at, ulong value)
    {
        while (value >= 0x80)
        {
            buffer[at++] = (byte)(value | 0x80);
            value >>= 7;
        }

        buffer[at++] = (byte)value;
        return at;
    }

    /// <exception cref="FormatException">The bytes end inside a varint or it is longer than ten bytes.</exception>
    public static ulong Read(ReadOnlySpan<byte> bytes, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            if (at >= bytes.Length)
            {
                throw new FormatException("a stored varint is cut short");
            }

            var b = bytes[at++];
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }

        throw new FormatException("a stored varint is longer than ten bytes");
    }

    public static ulong ZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));

    public static long UnZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);
}
