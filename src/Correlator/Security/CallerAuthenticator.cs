using Grpc.Core;
using HopCapture.Correlator.Hosting;
using HopCapture.Security;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Security;

/// <summary>
/// Establishes who a call comes from: a bearer token (checked against the configured hashes), a
/// client certificate (chain checked against Correlator:Tls:ClientCa only, at the current time;
/// identity from its <c>urn:hopcapture:ROLE:NAME</c> SAN), or nobody. A credential that is
/// presented but wrong is Unauthenticated at once, never downgraded to anonymous.
/// </summary>
public sealed class CallerAuthenticator(IOptionsMonitor<CorrelatorOptions> options, ServerTls tls, TimeProvider time)
{
    private const string BearerPrefix = "Bearer ";

    /// <exception cref="RpcException">Unauthenticated: a bad token or certificate.</exception>
    public Caller Authenticate(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var header = context.RequestHeaders.GetValue("authorization");
        if (header is not null)
        {
            return FromToken(header);
        }

        var certificate = context.GetHttpContext().Connection.ClientCertificate;
        return certificate is null ? Caller.Anonymous : FromCertificate(certificate);
    }

    private Caller FromToken(string header)
    {
        if (!header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase))
        {
            throw Unauthenticated("the authorization header must be 'Bearer TOKEN'");
        }

        var token = header[BearerPrefix.Length..].Trim();
        foreach (var configured in options.CurrentValue.Access.Tokens)
        {
            if (AccessTokens.Matches(token, configured.Sha256) && AccessRoles.TryParse(configured.Role, out var role))
            {
                return new Caller(role, configured.Name, $"token '{configured.Name}' (role {AccessRoles.Name(role)})");
            }
        }

        throw Unauthenticated($"the bearer token is not one of {AccessOptions.SectionName}:Tokens (mistyped, or revoked)");
    }

    private Caller FromCertificate(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        var problem = ChainCheck.Problem(certificate, tls.ClientCa, time.GetUtcNow(), ChainCheck.ClientAuthentication, ServerTls.ClientCaKey);
        if (problem is not null)
        {
            throw Unauthenticated(problem);
        }

        var identity = CertificateIdentity.From(certificate)
            ?? throw Unauthenticated($"certificate {certificate.Subject} names no HopCapture identity (a SAN URI {CertificateIdentity.UriPrefix}ROLE:NAME, as 'capture pki' issues)");
        return new Caller(identity.Role, identity.Name, $"the certificate of {identity}");
    }

    private static RpcException Unauthenticated(string message) => new(new Status(StatusCode.Unauthenticated, message));
}
