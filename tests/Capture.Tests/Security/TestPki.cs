using System.Diagnostics;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Net.Client;
using HopCapture.Cli;
using HopCapture.IngestClient;
using HopCapture.Security;
using HopCapture.Tests.Correlator;

namespace HopCapture.Tests.Security;

/// <summary>
/// Real certificates for the TLS tests: a CA and certificates made by the `capture pki` commands
/// themselves (in-process CliApp), a foreign CA made by openssl, and an expired certificate
/// signed by the real CA through CertificateRequest with past dates. Deleted on dispose.
/// </summary>
public sealed class TestPki : IDisposable
{
    private TestPki(string root)
    {
        Root = root;
        CaDirectory = Path.Combine(root, "ca");
    }

    public string Root { get; }

    public string CaDirectory { get; }

    public string CaCertificate => Path.Combine(CaDirectory, "ca.crt");

    /// <summary>The file given as Correlator:Tls:ClientCa (a copy of the CA, so rotations can rewrite it).</summary>
    public string ClientCaBundle => Path.Combine(Root, "client-ca.pem");

    /// <summary>A CA, a server certificate for 127.0.0.1 and localhost, and the client CA bundle.</summary>
    public static async Task<TestPki> CreateAsync()
    {
        var pki = new TestPki(Path.Combine(Path.GetTempPath(), "hc-pki-" + Guid.NewGuid().ToString("N")));
        await CaptureAsync("pki", "init", "--dir", pki.CaDirectory, "--name", "Test CA");
        await CaptureAsync("pki", "issue-server", "127.0.0.1", "localhost", "--dir", pki.CaDirectory);
        File.Copy(pki.CaCertificate, pki.ClientCaBundle);
        return pki;
    }

    /// <summary>Runs `capture ARGS` in-process and returns stdout; fails the test unless it exits 0.</summary>
    public static async Task<string> CaptureAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(args, new CliContext(stdout, stderr)).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(exit, Is.Zero, $"capture {string.Join(' ', args)}: {stderr}");
        return stdout.ToString();
    }

    public async Task<ClientTlsOptions> IssueNodeAsync(string node, string? caDirectory = null)
    {
        var dir = caDirectory ?? CaDirectory;
        await CaptureAsync("pki", "issue-node", node, "--dir", dir);
        return Client(Path.Combine(dir, $"agent-{node}"));
    }

    public ClientTlsOptions Client(string stem) => new() { Ca = CaCertificate, Certificate = stem + ".crt", Key = stem + ".key" };

    /// <summary>The correlator's settings for this PKI, plus tokens (name, role, token).</summary>
    public Dictionary<string, string?> CorrelatorSettings(params (string Name, string Role, string Token)[] tokens)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Correlator:Plaintext"] = "false",
            ["Correlator:Tls:Certificate"] = Path.Combine(CaDirectory, "server.crt"),
            ["Correlator:Tls:Key"] = Path.Combine(CaDirectory, "server.key"),
            ["Correlator:Tls:ClientCa"] = ClientCaBundle,
        };
        for (var i = 0; i < tokens.Length; i++)
        {
            settings[$"Correlator:Access:Tokens:{i}:Name"] = tokens[i].Name;
            settings[$"Correlator:Access:Tokens:{i}:Role"] = tokens[i].Role;
            settings[$"Correlator:Access:Tokens:{i}:Sha256"] = AccessTokens.Hash(tokens[i].Token);
        }

        return settings;
    }

    /// <summary>A client certificate for <paramref name="node"/> signed by the real CA that expired a minute ago (the CA itself is minutes old).</summary>
    public ClientTlsOptions IssueExpired(string node)
    {
        using var ca = PemFiles.LoadCertificate("ca", CaCertificate, "ca", Path.Combine(CaDirectory, "ca.key"));
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={node}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([ChainCheck.ClientAuthentication], false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddUri(new Uri($"urn:hopcapture:agent:{node}"));
        request.CertificateExtensions.Add(san.Build());
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.Create(ca, now.AddMinutes(-4), now.AddMinutes(-1), [0x01, 0x02, 0x03]);
        var stem = Path.Combine(Root, $"expired-{node}");
        File.WriteAllText(stem + ".crt", certificate.ExportCertificatePem());
        File.WriteAllText(stem + ".key", key.ExportPkcs8PrivateKeyPem());
        return Client(stem);
    }

    /// <summary>A CA of its own (openssl) and a well-formed agent certificate for <paramref name="node"/> from it.</summary>
    public ClientTlsOptions IssueForeign(string node)
    {
        var dir = Directory.CreateDirectory(Path.Combine(Root, "foreign")).FullName;
        File.WriteAllText(Path.Combine(dir, "ext.cnf"), $"subjectAltName=URI:urn:hopcapture:agent:{node}\nextendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
        OpenSsl(dir, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.crt",
            "-subj", "/CN=Foreign CA", "-days", "30", "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign");
        OpenSsl(dir, "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "agent.key", "-out", "agent.csr", "-subj", $"/CN={node}");
        OpenSsl(dir, "x509", "-req", "-in", "agent.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial", "-out", "agent.crt", "-days", "30", "-extfile", "ext.cnf");
        return Client(Path.Combine(dir, "agent"));
    }

    /// <summary>An ingest client over TLS with <paramref name="tls"/> (and a token).</summary>
    public static (GrpcChannel Channel, Protos.Ingest.IngestClient Client) Ingest(TestCorrelator correlator, ClientTlsOptions tls, string? token = null)
    {
        ArgumentNullException.ThrowIfNull(correlator);
        var address = new Uri(correlator.Address);
        var channel = IngestChannels.Create(
            address, CorrelatorCredentials.For(address, tls, TlsSettingNames.ForSection("Test"), token), TimeSpan.FromSeconds(5), HttpKeepAlivePingPolicy.Always);
        return (channel, new Protos.Ingest.IngestClient(channel));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }

    private static void OpenSsl(string directory, params string[] args)
    {
        var start = new ProcessStartInfo("openssl") { WorkingDirectory = directory, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEnd();
        process.StandardOutput.ReadToEnd();
        Assert.That(process.WaitForExit(30_000) && process.ExitCode == 0, Is.True, $"openssl {string.Join(' ', args)}: {errors}");
    }
}
