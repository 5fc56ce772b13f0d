using System.Globalization;

namespace HopCapture.Contracts.Mapping;

/// <summary>
/// The checks every ingested observation passes, repeated or packed, with the one-line reason an
/// ack carries when it fails; null when the field is fine. One copy, so both forms refuse the same
/// input with the same words.
/// </summary>
public static class ObservationRules
{
    public static string? Iface(ulong index, int interfaces) =>
        index < (ulong)interfaces ? null : $"iface {Num(index)} is out of range (the Hello lists {Num(interfaces)} interfaces)";

    /// <summary>1 request, 2 reply (the same numbers in the contract and the engine).</summary>
    public static string? Type(int type) => type switch
    {
        1 or 2 => null,
        0 => "type is not set (request or reply)",
        _ => $"type {Num(type)} is not request (1) or reply (2)",
    };

    public static string? Timestamp(long tsNs) => tsNs > 0 ? null : $"ts_ns {Num(tsNs)} is not a unix time in ns";

    /// <summary>0 unknown, 1 in, 2 out (the same numbers in the contract and the engine).</summary>
    public static string? Direction(int direction) =>
        direction is >= 0 and <= 2 ? null : $"direction {Num(direction)} is not unknown (0), in (1) or out (2)";

    private static string Num<T>(T value)
        where T : IFormattable => value.ToString(null, CultureInfo.InvariantCulture);
}
