using System.Security.Cryptography;
using System.Text;

namespace HopCapture.Security;

/// <summary>
/// Bearer tokens for the CLI. The correlator keeps only their SHA-256 (hex), so its config file
/// never holds a usable secret; tokens are 32 random bytes, base64url, prefixed <c>hct_</c> so a
/// leaked one is recognisable in logs and secret scanners.
/// </summary>
public static class AccessTokens
{
    public const string Prefix = "hct_";

    public static string Create() => Prefix + Base64Url(RandomNumberGenerator.GetBytes(32));

    /// <summary>Lower-case hex SHA-256 of the token's UTF-8 bytes, as Correlator:Access:Tokens[].Sha256 holds it.</summary>
    public static string Hash(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
    }

    /// <summary>Compares a presented token with a configured hash in constant time.</summary>
    public static bool Matches(string token, string sha256Hex)
    {
        ArgumentNullException.ThrowIfNull(sha256Hex);
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(token));
        byte[] expected;
        try
        {
            expected = Convert.FromHexString(sha256Hex);
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(presented, expected);
    }

    public static bool IsHash(string? text) =>
        text is { Length: 64 } && text.All(Uri.IsHexDigit);

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
