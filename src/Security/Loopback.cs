using System.Net;

namespace HopCapture.Security;

/// <summary>Plaintext is allowed to loopback only: these decide what counts as loopback.</summary>
public static class Loopback
{
    /// <summary>True for <c>localhost</c> and loopback addresses (127.0.0.0/8, ::1).</summary>
    public static bool IsLoopbackHost(string host)
    {
        ArgumentNullException.ThrowIfNull(host);
        var bare = host.Trim('[', ']');
        return bare.Equals("localhost", StringComparison.OrdinalIgnoreCase)
               || (IPAddress.TryParse(bare, out var address) && IPAddress.IsLoopback(address));
    }

    /// <summary>
    /// Why <paramref name="address"/> may not be used in plaintext, or null: https is always fine,
    /// http only to loopback (a token or observations would cross the network in the clear).
    /// </summary>
    public static string? PlaintextProblem(Uri address)
    {
        ArgumentNullException.ThrowIfNull(address);
        return address.Scheme == Uri.UriSchemeHttp && !IsLoopbackHost(address.Host)
            ? $"'{address.GetLeftPart(UriPartial.Authority)}' is plaintext (http://) to a host that is not loopback; use https:// with a CA (see 'capture pki')"
            : null;
    }
}
