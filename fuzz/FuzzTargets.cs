using Google.Protobuf;
using HopCapture.Correlator.Ingest;
using HopCapture.Packets.Decoding;
using HopCapture.Packets.Files;
using HopCapture.Protos;

namespace HopCapture.Fuzz;

/// <summary>
/// What hostile input reaches: the frame decoder (every link type the agent or analyze reads),
/// the pcap/pcapng parser, and ingest (the wire message and its validation). Each target takes
/// the raw input and may only fail the ways it documents (a <see cref="CaptureFileException"/>
/// for a file that is not a capture, a protobuf parse error for bytes that are not a message).
/// </summary>
public static class FuzzTargets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>(StringComparer.Ordinal)
    {
        ["decoder"] = Decoder,
        ["capture-file"] = CaptureFile,
        ["ingest"] = Ingest,
    };

    // The first input byte picks the link type, so one corpus covers every framing.
    private static readonly int[] LinkTypes =
        [LinkType.Ethernet, LinkType.LinuxSll, LinkType.LinuxSll2, LinkType.Raw, LinkType.IPv4, LinkType.IPv6, LinkType.Null, LinkType.Loop];

    // Ids a Hello of four interfaces maps to, as the correlator would hold them.
    private static readonly int[] IfaceIds = [0, 1, 2, 3];

    public static void Decoder(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        if (input.Length == 0)
        {
            return;
        }

        var linkType = LinkTypes[input[0] % LinkTypes.Length];
        var status = EchoDecoder.Decode(input.AsSpan(1), linkType, (uint)input.Length, out var echo);
        if (status == DecodeStatus.Ok && echo.Type is not (Engine.Model.EchoType.Request or Engine.Model.EchoType.Reply))
        {
            throw new InvalidOperationException($"decoded an echo of type {echo.Type}");
        }
    }

    public static void CaptureFile(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        try
        {
            using var reader = CaptureFileReader.Open(new MemoryStream(input, writable: false), "fuzz-input");
            var records = 0L;
            while (reader.TryReadNext(out _))
            {
                // Every echo is a record of its own: more echoes than bytes would be a parser loop.
                if (++records > input.Length)
                {
                    throw new InvalidOperationException("more echoes than input bytes");
                }
            }
        }
        catch (CaptureFileException)
        {
            // Not a capture, or cut before its header: reported to the user as one line.
        }
    }

    public static void Ingest(byte[] input)
    {
        ArgumentNullException.ThrowIfNull(input);
        AgentMessage message;
        try
        {
            message = AgentMessage.Parser.ParseFrom(input);
        }
        catch (InvalidProtocolBufferException)
        {
            return; // gRPC refuses such a message before the service sees it
        }

        if (message.Batch is { } batch)
        {
            foreach (var observation in batch.Observations)
            {
                if (!ObservationValidator.TryConvert(observation, IfaceIds, out _, out var problem) && problem.Length == 0)
                {
                    throw new InvalidOperationException("an observation was refused without a reason");
                }
            }
        }
    }
}
