using System.Net;
using HopCapture.Correlator.Hosting;
using HopCapture.Security;

namespace HopCapture.Correlator.Security;

/// <summary>
/// The security part of the correlator's start checks: TLS configured (files readable, key
/// matching), or plaintext asked for on loopback only; tokens well formed. Each failure starts
/// with the key to fix.
/// </summary>
public static class SecurityOptionsValidator
{
    public const string PlaintextKey = CorrelatorOptions.SectionName + ":Plaintext";

    public static void Validate(CorrelatorOptions options, IPEndPoint? listen, List<string> failures)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(failures);
        var tls = options.Tls ?? new TlsOptions();
        if (options.Plaintext)
        {
            if (tls.Configured)
            {
                failures.Add($"{PlaintextKey}: true, but {TlsOptions.SectionName} is configured too; remove one of them");
            }
            else if (listen is not null && !IPAddress.IsLoopback(listen.Address))
            {
                failures.Add($"{PlaintextKey}: plaintext is allowed on a loopback address only, and {CorrelatorOptions.SectionName}:Listen is {listen}; configure {TlsOptions.SectionName} (see 'capture pki')");
            }
        }
        else if (!tls.Configured)
        {
            failures.Add($"{TlsOptions.SectionName}:Certificate: not set. Create a CA and certificates with 'capture pki init' and " +
                         $"'capture pki issue-server ADDR', then set {TlsOptions.SectionName}:Certificate, :Key and :ClientCa " +
                         $"(or set {PlaintextKey}=true for a test setup on loopback)");
        }
        else
        {
            ValidateFiles(tls, failures);
        }

        ValidateTokens(options.Access ?? new AccessOptions(), failures);
    }

    private static void ValidateFiles(TlsOptions tls, List<string> failures)
    {
        var missing = new[] { ("Certificate", tls.Certificate), ("Key", tls.Key), ("ClientCa", tls.ClientCa) }
            .Where(s => string.IsNullOrWhiteSpace(s.Item2))
            .Select(s => $"{TlsOptions.SectionName}:{s.Item1}")
            .ToList();
        if (missing.Count > 0)
        {
            failures.Add($"{missing[0]}: not set (TLS needs Certificate, Key and ClientCa)");
            return;
        }

        try
        {
            PemFiles.LoadCertificate(ServerTls.CertificateKey, tls.Certificate, ServerTls.KeyKey, tls.Key).Dispose();
            PemFiles.LoadBundle(ServerTls.ClientCaKey, tls.ClientCa);
        }
        catch (PemFileException ex)
        {
            failures.Add(ex.Message);
        }
    }

    private static void ValidateTokens(AccessOptions access, List<string> failures)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < access.Tokens.Count; i++)
        {
            var token = access.Tokens[i];
            var key = $"{AccessOptions.SectionName}:Tokens:{i}";
            if (string.IsNullOrWhiteSpace(token.Name) || !names.Add(token.Name))
            {
                failures.Add($"{key}:Name: must be set and unique (got '{token.Name}')");
            }

            if (!AccessRoles.TryParse(token.Role, out var role) || role == AccessRole.Agent)
            {
                failures.Add($"{key}:Role: must be {AccessRoles.CliRoles} (got '{token.Role}')");
            }

            if (!AccessTokens.IsHash(token.Sha256))
            {
                failures.Add($"{key}:Sha256: must be the 64 hex digits 'capture pki token' prints, never the token itself");
            }
        }
    }
}
