using System.Globalization;
using System.Net;

namespace HopCapture.Correlator.Hosting;

/// <summary>Parses the ADDR:PORT form of --listen / Correlator:Listen.</summary>
public static class ListenEndpoint
{
    public static bool TryParse(string? text, out IPEndPoint endpoint, out string problem)
    {
        endpoint = null!;
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "is empty; expected ADDR:PORT such as 127.0.0.1:7400";
            return false;
        }

        var colon = text.LastIndexOf(':');
        if (colon <= 0 || colon == text.Length - 1)
        {
            problem = $"'{text}' is not ADDR:PORT (for example 127.0.0.1:7400 or [::1]:7400)";
            return false;
        }

        var host = text[..colon];
        var portText = text[(colon + 1)..];
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port > IPEndPoint.MaxPort)
        {
            problem = $"'{portText}' in '{text}' is not a port number (0-65535)";
            return false;
        }

        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        IPAddress? address = host switch
        {
            "localhost" => IPAddress.Loopback,
            "*" => IPAddress.Any,
            _ => IPAddress.TryParse(host, out var parsed) ? parsed : null,
        };
        if (address is null)
        {
            problem = $"'{host}' in '{text}' is not an IP address (use an address such as 127.0.0.1, [::1] or 0.0.0.0)";
            return false;
        }

        endpoint = new IPEndPoint(address, port);
        problem = "";
        return true;
    }

    /// <summary>http://ADDR:PORT with IPv6 in brackets.</summary>
    public static string ToUrl(IPEndPoint endpoint)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        return "http://" + endpoint;
    }
}
