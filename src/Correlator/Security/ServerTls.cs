using System.Security.Cryptography.X509Certificates;
using HopCapture.Correlator.Hosting;
using HopCapture.Security;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Security;

/// <summary>
/// The correlator's TLS: its certificate for Kestrel and the client CA bundle for
/// <see cref="CallerAuthenticator"/>, both read again from disk when the files change (checked at
/// each new connection), so a rotation needs no restart. Null members in plaintext mode.
/// </summary>
public sealed class ServerTls
{
    public const string CertificateKey = TlsOptions.SectionName + ":Certificate";
    public const string KeyKey = TlsOptions.SectionName + ":Key";
    public const string ClientCaKey = TlsOptions.SectionName + ":ClientCa";

    private readonly ReloadingFiles<X509Certificate2>? _certificate;
    private readonly ReloadingFiles<X509Certificate2Collection>? _clientCa;

    public ServerTls(IOptions<CorrelatorOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tls = options.Value.Tls;
        if (!options.Value.Plaintext)
        {
            _certificate = Reloading.Certificate(CertificateKey, tls.Certificate, KeyKey, tls.Key);
            _clientCa = Reloading.Bundle(ClientCaKey, tls.ClientCa);
        }
    }

    public bool Enabled => _certificate is not null;

    /// <summary>The CAs client certificates must chain to; empty in plaintext mode.</summary>
    public X509Certificate2Collection ClientCa => _clientCa?.Current ?? [];

    /// <summary>
    /// Kestrel asks every client for a certificate but does not fail the handshake over it: the
    /// CLI may come with a token instead, and a certificate that fails the chain check is refused
    /// per call by <see cref="CallerAuthenticator"/> with a gRPC status that says why ("expired on
    /// …", "not issued by a CA in Correlator:Tls:ClientCa") instead of a bare TLS alert. No call
    /// reaches a service without that check (<see cref="AccessInterceptor"/>).
    /// </summary>
    public void Configure(HttpsConnectionAdapterOptions https)
    {
        ArgumentNullException.ThrowIfNull(https);
        var certificate = _certificate ?? throw new InvalidOperationException("TLS is off (Correlator:Plaintext)");
        https.ServerCertificateSelector = (_, _) => certificate.Current;
        https.ClientCertificateMode = ClientCertificateMode.AllowCertificate;
        https.ClientCertificateValidation = (_, _, _) => true;
        https.CheckCertificateRevocation = false;
    }
}
