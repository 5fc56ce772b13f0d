using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HopCapture.Security;

/// <summary>
/// Checks a peer certificate against a private CA bundle only — never the system store, so a
/// certificate from a public CA is as foreign as one from any other CA — at a given time, for a
/// given use (client or server authentication). Returns a problem a person can act on, or null.
/// </summary>
public static class ChainCheck
{
    public static readonly Oid ClientAuthentication = new("1.3.6.1.5.5.7.3.2", "Client Authentication");

    public static readonly Oid ServerAuthentication = new("1.3.6.1.5.5.7.3.1", "Server Authentication");

    /// <param name="certificate">The peer's certificate.</param>
    /// <param name="roots">The trusted CAs (the bundle).</param>
    /// <param name="now">Verification time (a TimeProvider's, so tests can move it).</param>
    /// <param name="usage">The extended key usage the certificate must allow.</param>
    /// <param name="bundleSetting">The setting naming the bundle, for the message.</param>
    public static string? Problem(X509Certificate2 certificate, X509Certificate2Collection roots, DateTimeOffset now, Oid usage, string bundleSetting)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        ArgumentNullException.ThrowIfNull(roots);
        if (now < certificate.NotBefore.ToUniversalTime())
        {
            return $"certificate {Subject(certificate)} is not valid before {Format(certificate.NotBefore)}";
        }

        if (now > certificate.NotAfter.ToUniversalTime())
        {
            return $"certificate {Subject(certificate)} expired on {Format(certificate.NotAfter)}";
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.ApplicationPolicy.Add(usage);
        try
        {
            if (chain.Build(certificate))
            {
                return null;
            }

            var flags = chain.ChainStatus.Aggregate(X509ChainStatusFlags.NoError, (all, s) => all | s.Status);
            if (flags.HasFlag(X509ChainStatusFlags.UntrustedRoot) || flags.HasFlag(X509ChainStatusFlags.PartialChain))
            {
                return $"certificate {Subject(certificate)} (issuer {certificate.Issuer}) is not issued by a CA in {bundleSetting}";
            }

            if (flags.HasFlag(X509ChainStatusFlags.NotTimeValid))
            {
                return $"certificate {Subject(certificate)} or its CA is outside its validity period";
            }

            if (flags.HasFlag(X509ChainStatusFlags.NotValidForUsage))
            {
                return $"certificate {Subject(certificate)} is not valid for {usage.FriendlyName}";
            }

            var first = chain.ChainStatus.FirstOrDefault();
            return $"certificate {Subject(certificate)} is not trusted: {first.StatusInformation.Trim()}";
        }
        finally
        {
            foreach (var element in chain.ChainElements)
            {
                if (!ReferenceEquals(element.Certificate, certificate))
                {
                    element.Certificate.Dispose();
                }
            }
        }
    }

    private static string Subject(X509Certificate2 certificate) => certificate.Subject;

    private static string Format(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture);
}
