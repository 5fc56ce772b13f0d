namespace HopCapture.Cli.Connection;

/// <summary>Where the correlator's query API listens, as the user gave it.</summary>
public static class CorrelatorAddress
{
    public const string Default = "http://127.0.0.1:7400";
    public const string EnvironmentVariable = "HOPCAPTURE_CORRELATOR";

    /// <summary>Accepts http(s) URLs and, as a convenience, a bare host:port (meaning http://).</summary>
    public static bool TryParse(string? text, out Uri address, out string error)
    {
        address = null!;
        var value = text?.Trim() ?? "";
        if (value.Length == 0)
        {
            error = "--correlator: the URL is empty";
            return false;
        }

        if (!value.Contains("://", StringComparison.Ordinal))
        {
            value = "http://" + value;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var parsed)
            || (parsed.Scheme != Uri.UriSchemeHttp && parsed.Scheme != Uri.UriSchemeHttps)
            || string.IsNullOrEmpty(parsed.Host))
        {
            error = $"--correlator: '{text}' is not a URL like {Default}";
            return false;
        }

        address = parsed;
        error = "";
        return true;
    }

    /// <summary>The URL as people typed it, without the trailing slash <see cref="Uri"/> adds.</summary>
    public static string Display(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.GetLeftPart(UriPartial.Path).TrimEnd('/');
    }
}
