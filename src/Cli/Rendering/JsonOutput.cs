using Google.Protobuf;

namespace HopCapture.Cli.Rendering;

/// <summary>
/// <c>--json</c>: proto3 canonical JSON of the response message, default values included so
/// scripts never have to guess whether a missing field means zero.
/// </summary>
public static class JsonOutput
{
    private static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary>One line of JSON (the formatter never indents), so watch output is JSON Lines.</summary>
    public static string Format(IMessage message) => Formatter.Format(message);
}
