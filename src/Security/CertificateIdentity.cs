using System.Formats.Asn1;
using System.Security.Cryptography.X509Certificates;

namespace HopCapture.Security;

/// <summary>
/// Who a HopCapture certificate names: a role and a name (an agent's node, a CLI user). Carried
/// as one subject alternative name URI, <c>urn:hopcapture:ROLE:NAME</c> (e.g.
/// <c>urn:hopcapture:agent:hv1</c>, <c>urn:hopcapture:operator:alice</c>), with CN=NAME for people
/// reading the certificate. The URI, not the CN, is what the correlator trusts: a CN is free text
/// any CA puts in server certificates too, a URI in our namespace is only in what `capture pki` issued.
/// </summary>
public sealed record CertificateIdentity(AccessRole Role, string Name)
{
    public const string UriPrefix = "urn:hopcapture:";

    private const string SubjectAltNameOid = "2.5.29.17";

    public string Uri => $"{UriPrefix}{AccessRoles.Name(Role)}:{Name}";

    public override string ToString() => $"{AccessRoles.Name(Role)} '{Name}'";

    /// <summary>The identity in <paramref name="certificate"/>'s SAN URIs, or null when it carries none (or several).</summary>
    public static CertificateIdentity? From(X509Certificate2 certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        var extension = certificate.Extensions[SubjectAltNameOid];
        if (extension is null)
        {
            return null;
        }

        CertificateIdentity? found = null;
        foreach (var uri in Uris(extension.RawData))
        {
            if (TryParse(uri, out var identity))
            {
                if (found is not null && found != identity)
                {
                    return null;
                }

                found = identity;
            }
        }

        return found;
    }

    public static bool TryParse(string uri, out CertificateIdentity identity)
    {
        identity = null!;
        if (!uri.StartsWith(UriPrefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = uri[UriPrefix.Length..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0 || colon == rest.Length - 1 || !AccessRoles.TryParse(rest[..colon], out var role))
        {
            return false;
        }

        identity = new CertificateIdentity(role, rest[(colon + 1)..]);
        return true;
    }

    /// <summary>The uniformResourceIdentifier entries ([6] IA5String) of a GeneralNames sequence.</summary>
    private static List<string> Uris(byte[] rawData)
    {
        var uris = new List<string>();
        try
        {
            var names = new AsnReader(rawData, AsnEncodingRules.DER).ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (names.HasData)
            {
                if (names.PeekTag().HasSameClassAndValue(uriTag))
                {
                    uris.Add(names.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                }
                else
                {
                    names.ReadEncodedValue();
                }
            }
        }
        catch (AsnContentException)
        {
            // A malformed extension names nobody.
            return [];
        }

        return uris;
    }
}
