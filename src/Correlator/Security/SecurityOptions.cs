namespace HopCapture.Correlator.Security;

/// <summary>
/// Section "Correlator:Tls": the correlator's own certificate and the CAs whose client
/// certificates (agents, CLI users) it accepts. Files are PEM and are read again when they
/// change on disk, at the next connection.
/// </summary>
public sealed class TlsOptions
{
    public const string SectionName = "Correlator:Tls";

    /// <summary>PEM server certificate (`capture pki issue-server ADDR…`).</summary>
    public string Certificate { get; set; } = "";

    /// <summary>PEM private key of <see cref="Certificate"/>.</summary>
    public string Key { get; set; } = "";

    /// <summary>
    /// PEM bundle of the CAs that may sign client certificates: only these are trusted (not the
    /// system store). A bundle, so a CA rotation trusts the old and the new CA for a while.
    /// </summary>
    public string ClientCa { get; set; } = "";

    public bool Configured =>
        !string.IsNullOrWhiteSpace(Certificate) || !string.IsNullOrWhiteSpace(Key) || !string.IsNullOrWhiteSpace(ClientCa);
}

/// <summary>Section "Correlator:Access": the CLI's bearer tokens, by hash.</summary>
public sealed class AccessOptions
{
    public const string SectionName = "Correlator:Access";

    /// <summary>Tokens made by `capture pki token`; only their SHA-256 is configured.</summary>
    public List<TokenOptions> Tokens { get; set; } = [];
}

/// <summary>One CLI token: who it is for, what it may do, and its SHA-256 (hex).</summary>
public sealed class TokenOptions
{
    public string Name { get; set; } = "";

    /// <summary>read | operator.</summary>
    public string Role { get; set; } = "";

    public string Sha256 { get; set; } = "";
}
