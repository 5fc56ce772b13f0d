using System.CommandLine;
using HopCapture.IngestClient;
using HopCapture.Security;

namespace HopCapture.Cli.Connection;

/// <summary>
/// The CLI's credentials for the correlator, from flags or the environment (a flag wins over its
/// variable): a bearer token (<c>--token</c>, then <c>--token-file</c>, then <c>HOPCAPTURE_TOKEN</c>,
/// then <c>HOPCAPTURE_TOKEN_FILE</c>) and/or a client certificate (<c>--cert/--key</c>, or
/// <c>HOPCAPTURE_CERT/HOPCAPTURE_KEY</c>), with <c>--ca</c>/<c>HOPCAPTURE_CA</c> naming the CA
/// bundle that signs the correlator's certificate (the system store when unset).
/// </summary>
internal sealed class CliCredentials
{
    public const string TokenVariable = "HOPCAPTURE_TOKEN";
    public const string TokenFileVariable = "HOPCAPTURE_TOKEN_FILE";
    public const string CaVariable = "HOPCAPTURE_CA";
    public const string CertVariable = "HOPCAPTURE_CERT";
    public const string KeyVariable = "HOPCAPTURE_KEY";

    private static readonly TlsSettingNames Names = new("--ca", "--cert", "--key");

    private readonly CliContext _context;

    public CliCredentials(CliContext context)
    {
        _context = context;
        Token = Text("--token", "TOKEN", $"Bearer token for the correlator (env {TokenVariable}; --token-file keeps it out of the process list)");
        TokenFile = Text("--token-file", "FILE", $"Read the bearer token from FILE (env {TokenFileVariable})");
        Ca = Text("--ca", "FILE", $"PEM CA bundle that signs the correlator's certificate (env {CaVariable}; default: the system store)");
        Cert = Text("--cert", "FILE", $"PEM client certificate from 'capture pki issue-client' (env {CertVariable})");
        Key = Text("--key", "FILE", $"PEM private key of --cert (env {KeyVariable})");
    }

    public Option<string?> Token { get; }

    public Option<string?> TokenFile { get; }

    public Option<string?> Ca { get; }

    public Option<string?> Cert { get; }

    public Option<string?> Key { get; }

    public IEnumerable<Option> All => [Token, TokenFile, Ca, Cert, Key];

    /// <exception cref="CliUsageException">An unreadable file, or a token that would go over plaintext to another host.</exception>
    public CorrelatorCredentials Resolve(ParseResult parse, Uri address)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var token = ResolveToken(parse);
        if (token is not null && Loopback.PlaintextProblem(address) is { } plaintext)
        {
            throw new CliUsageException($"not sending a token: {plaintext}");
        }

        var tls = new ClientTlsOptions
        {
            Ca = Value(parse, Ca, CaVariable) ?? "",
            Certificate = Value(parse, Cert, CertVariable) ?? "",
            Key = Value(parse, Key, KeyVariable) ?? "",
        };
        try
        {
            return CorrelatorCredentials.For(address, tls, Names, token, _context.Time);
        }
        catch (PemFileException ex)
        {
            throw new CliUsageException(ex.Message);
        }
    }

    private string? ResolveToken(ParseResult parse)
    {
        if (parse.GetValue(Token) is { Length: > 0 } token)
        {
            return token.Trim();
        }

        if (parse.GetValue(TokenFile) is { Length: > 0 } file)
        {
            return ReadToken("--token-file", file);
        }

        if (_context.Environment(TokenVariable) is { Length: > 0 } fromEnv)
        {
            return fromEnv.Trim();
        }

        return _context.Environment(TokenFileVariable) is { Length: > 0 } envFile ? ReadToken(TokenFileVariable, envFile) : null;
    }

    private static string ReadToken(string setting, string path)
    {
        try
        {
            var token = File.ReadAllText(path).Trim();
            return token.Length > 0 ? token : throw new CliUsageException($"{setting}: '{path}' is empty");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"{setting}: cannot read '{path}': {ex.Message}");
        }
    }

    private string? Value(ParseResult parse, Option<string?> option, string variable) =>
        parse.GetValue(option) is { Length: > 0 } value ? value : _context.Environment(variable) is { Length: > 0 } fromEnv ? fromEnv : null;

    private static Option<string?> Text(string name, string helpName, string description) => new(name)
    {
        Description = description,
        HelpName = helpName,
        Recursive = true,
    };
}
