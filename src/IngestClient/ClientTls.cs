using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using HopCapture.Security;

namespace HopCapture.IngestClient;

/// <summary>
/// The client side of TLS to the correlator, bound from <c>Agent:Tls</c> or the CLI's
/// <c>--ca/--cert/--key</c>: which CAs may sign the correlator's certificate, and this client's
/// own certificate (agents: always; CLI: optional when it has a token).
/// </summary>
public sealed class ClientTlsOptions
{
    /// <summary>PEM bundle of the CAs that sign the correlator's certificate; empty = the system store.</summary>
    public string Ca { get; set; } = "";

    /// <summary>PEM client certificate (from `capture pki issue-node` or `issue-client`).</summary>
    public string Certificate { get; set; } = "";

    /// <summary>PEM private key of <see cref="Certificate"/>.</summary>
    public string Key { get; set; } = "";

    public bool HasCertificate => !string.IsNullOrWhiteSpace(Certificate) || !string.IsNullOrWhiteSpace(Key);
}

/// <summary>How the settings of <see cref="ClientTlsOptions"/> are named where they came from (config keys or flags), for messages.</summary>
public sealed record TlsSettingNames(string Ca, string Certificate, string Key)
{
    public static TlsSettingNames ForSection(string section) => new($"{section}:Tls:Ca", $"{section}:Tls:Certificate", $"{section}:Tls:Key");
}

/// <summary>
/// Loads the files of <see cref="ClientTlsOptions"/> once (so an unreadable key is one line at
/// start), reloads them when they change (a rotated certificate is used from the next
/// connection), and checks the correlator's certificate against the configured CA bundle only.
/// </summary>
public sealed class ClientTls
{
    private readonly ReloadingFiles<X509Certificate2>? _certificate;
    private readonly ReloadingFiles<X509Certificate2Collection>? _ca;
    private readonly TlsSettingNames _names;
    private readonly TimeProvider _time;

    /// <exception cref="PemFileException">A file is missing, unreadable or not PEM; or a certificate without its key.</exception>
    public ClientTls(ClientTlsOptions options, TlsSettingNames names, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(names);
        _names = names;
        _time = time ?? TimeProvider.System;
        if (options.HasCertificate)
        {
            if (string.IsNullOrWhiteSpace(options.Certificate) || string.IsNullOrWhiteSpace(options.Key))
            {
                throw new PemFileException(string.IsNullOrWhiteSpace(options.Key) ? names.Key : names.Certificate, "",
                    $"{names.Certificate} and {names.Key} go together");
            }

            _certificate = Reloading.Certificate(names.Certificate, options.Certificate, names.Key, options.Key);
        }

        if (!string.IsNullOrWhiteSpace(options.Ca))
        {
            _ca = Reloading.Bundle(names.Ca, options.Ca);
        }
    }

    public bool HasCertificate => _certificate is not null;

    public SslClientAuthenticationOptions SslOptions() => new()
    {
        LocalCertificateSelectionCallback = _certificate is null ? null : (_, _, _, _, _) => _certificate.Current,
        RemoteCertificateValidationCallback = ValidateServer,
    };

    /// <summary>
    /// Throws instead of returning false so the handshake failure carries the reason ("not issued
    /// by a CA in Agent:Tls:Ca", "does not name host x") rather than SslStream's generic one.
    /// </summary>
    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            throw new AuthenticationException("the correlator sent no certificate");
        }

        using var server = new X509Certificate2(certificate);
        if (errors.HasFlag(SslPolicyErrors.RemoteCertificateNameMismatch))
        {
            var host = (sender as SslStream)?.TargetHostName ?? "the host";
            throw new AuthenticationException(
                $"the correlator's certificate {server.Subject} does not name '{host}' (issue it with 'capture pki issue-server {host}')");
        }

        if (_ca is null)
        {
            return errors == SslPolicyErrors.None
                ? true
                : throw new AuthenticationException($"the correlator's certificate {server.Subject} is not trusted by the system store; set {_names.Ca}");
        }

        var problem = ChainCheck.Problem(server, _ca.Current, _time.GetUtcNow(), ChainCheck.ServerAuthentication, _names.Ca);
        return problem is null ? true : throw new AuthenticationException("the correlator's " + problem);
    }
}
