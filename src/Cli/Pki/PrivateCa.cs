using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using HopCapture.Security;

namespace HopCapture.Cli.Pki;

/// <summary>A certificate (and key) written by `capture pki`, for the output.</summary>
public sealed record IssuedCertificate(string Kind, string Subject, IReadOnlyList<string> Names, string CertificatePath, string KeyPath, X509Certificate2 Certificate);

/// <summary>A refusal `capture pki` reports in one line (exit 1): a file exists, the CA cannot be read.</summary>
public sealed class PkiException(string message) : Exception(message);

/// <summary>
/// HopCapture's small private CA, with .NET's CertificateRequest (no openssl needed): ECDSA
/// P-256 keys, a CA certificate (<c>ca.crt</c>, key <c>ca.key</c> mode 0600) and leaf
/// certificates signed by it — agents (<c>urn:hopcapture:agent:NODE</c>), CLI users
/// (<c>urn:hopcapture:read|operator:NAME</c>), each for client authentication, and the
/// correlator's server certificate (DNS names and IP addresses). See README "Certificates".
/// </summary>
public sealed class PrivateCa(string directory, TimeProvider time)
{
    public const string CaCertificateFile = "ca.crt";
    public const string CaKeyFile = "ca.key";

    /// <summary>Leaves start a few minutes in the past, so a clock slightly behind does not refuse a fresh certificate.</summary>
    private static readonly TimeSpan Backdate = TimeSpan.FromMinutes(5);

    public string CertificatePath => Path.Combine(directory, CaCertificateFile);

    public string KeyPath => Path.Combine(directory, CaKeyFile);

    /// <exception cref="PkiException">A CA exists there already and <paramref name="force"/> is false.</exception>
    public IssuedCertificate Init(string name, int days, bool force)
    {
        if (!force && (File.Exists(CertificatePath) || File.Exists(KeyPath)))
        {
            throw new PkiException($"a CA exists in '{directory}' already ({CaCertificateFile}); use another --dir (a rotation: see README) or --force to replace it");
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={name}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, true, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = time.GetUtcNow();
        var certificate = request.CreateSelfSigned(now - Backdate, now.AddDays(days));
        Directory.CreateDirectory(directory);
        Write(KeyPath, key.ExportPkcs8PrivateKeyPem());
        Write(CertificatePath, certificate.ExportCertificatePem());
        return new IssuedCertificate("ca", certificate.Subject, [name], CertificatePath, KeyPath, certificate);
    }

    /// <summary>An agent's certificate: CN and SAN URI name its node.</summary>
    public IssuedCertificate IssueNode(string node, string outDirectory, int days) =>
        IssueClient("node", new CertificateIdentity(AccessRole.Agent, node), Path.Combine(outDirectory, $"agent-{node}"), days);

    /// <summary>A CLI user's certificate with its role.</summary>
    public IssuedCertificate IssueUser(string name, AccessRole role, string outDirectory, int days) =>
        IssueClient("client", new CertificateIdentity(role, name), Path.Combine(outDirectory, $"client-{name}"), days);

    /// <summary>The correlator's certificate for the DNS names and IP addresses agents and the CLI connect to.</summary>
    public IssuedCertificate IssueServer(IReadOnlyList<string> names, string stem, int days)
    {
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in names)
        {
            if (IPAddress.TryParse(name.Trim('[', ']'), out var address))
            {
                san.AddIpAddress(address);
            }
            else
            {
                san.AddDnsName(name);
            }
        }

        return Issue("server", names[0], names, san, ChainCheck.ServerAuthentication, stem, days);
    }

    private IssuedCertificate IssueClient(string kind, CertificateIdentity identity, string stem, int days)
    {
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri(identity.Uri));
        return Issue(kind, identity.Name, [identity.Uri], san, ChainCheck.ClientAuthentication, stem, days);
    }

    private IssuedCertificate Issue(string kind, string commonName, IReadOnlyList<string> names, SubjectAlternativeNameBuilder san, System.Security.Cryptography.Oid usage, string stem, int days)
    {
        using var ca = LoadCa();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"CN={commonName}"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], false));
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));

        var now = time.GetUtcNow();
        var notAfter = now.AddDays(days);
        if (notAfter > ca.NotAfter.ToUniversalTime())
        {
            // A leaf outliving its CA would be refused anyway; end it with the CA.
            notAfter = ca.NotAfter.ToUniversalTime();
        }

        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var certificate = request.Create(ca, now - Backdate, notAfter, serial);
        var certificatePath = stem + ".crt";
        var keyPath = stem + ".key";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(certificatePath))!);
        Write(keyPath, key.ExportPkcs8PrivateKeyPem());
        Write(certificatePath, certificate.ExportCertificatePem());
        return new IssuedCertificate(kind, certificate.Subject, names, certificatePath, keyPath, certificate);
    }

    private X509Certificate2 LoadCa()
    {
        try
        {
            return PemFiles.LoadCertificate("--dir", CertificatePath, "--dir", KeyPath);
        }
        catch (PemFileException ex)
        {
            throw new PkiException($"cannot use the CA in '{directory}' ({ex.Message}); create one with 'capture pki init --dir {directory}'");
        }
    }

    /// <summary>
    /// Writes through a temporary file and a rename, so a correlator or agent reloading the file
    /// never reads half of it; keys are created 0600 (certificates 0644).
    /// </summary>
    private static void Write(string path, string pem)
    {
        var mode = path.EndsWith(".key", StringComparison.Ordinal)
            ? UnixFileMode.UserRead | UnixFileMode.UserWrite
            : UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        var temporary = path + ".tmp";
        File.Delete(temporary);
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = mode;
        }

        using (var stream = new FileStream(temporary, options))
        using (var writer = new StreamWriter(stream))
        {
            writer.Write(pem);
            writer.Write('\n');
        }

        File.Move(temporary, path, overwrite: true);
    }
}
