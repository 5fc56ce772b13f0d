using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Pki;
using HopCapture.Security;

namespace HopCapture.Cli.Commands;

/// <summary>
/// <c>capture pki</c>: a private CA and the certificates and tokens HopCapture needs. Exit codes:
/// 0 written, 1 refused or failed (a CA exists, the CA cannot be read, a file cannot be
/// written), 2 usage (a bad name, role or number).
/// </summary>
internal static class PkiCommands
{
    public const string DirectoryVariable = "HOPCAPTURE_PKI";
    public const string DefaultDirectory = "pki";

    public static Command Create(CliRun run)
    {
        var pki = new Command("pki",
            "A private CA and certificates for the correlator, agents and CLI users, and CLI tokens (see README 'Certificates').\n" +
            "Exit codes: 0 written, 1 refused or failed, 2 usage.\n\n" +
            "Examples:\n" +
            "  capture pki init --dir /etc/hopcapture/tls\n" +
            "  capture pki issue-server correlator.example.net 10.0.0.5 --dir /etc/hopcapture/tls\n" +
            "  capture pki issue-node pve1 --dir /etc/hopcapture/tls --out /tmp/pve1\n" +
            "  capture pki issue-client alice --role operator --dir /etc/hopcapture/tls\n" +
            "  capture pki token --name grafana --role read")
        {
            Init(run), IssueNode(run), IssueServer(run), IssueClient(run), Token(run),
        };
        pki.SetAction(_ =>
        {
            run.Context.Error.WriteLine("capture pki: no subcommand given; use one of init, issue-node, issue-server, issue-client, token (see 'capture pki --help')");
            return ExitCodes.Usage;
        });
        return pki;
    }

    private static Command Init(CliRun run)
    {
        var dir = Directory(run);
        var name = new Option<string>("--name") { Description = "The CA's common name", DefaultValueFactory = _ => "HopCapture CA" };
        var days = Days(3650);
        var force = new Option<bool>("--force") { Description = "Replace a CA that exists in --dir (every certificate it signed stops being trusted)" };
        var command = new Command("init", "Create the CA: DIR/ca.crt and DIR/ca.key (mode 0600). Keep ca.key offline or on the correlator host only.") { dir, name, days, force };
        command.SetAction(parse => Run(run, parse, () =>
            new PrivateCa(parse.GetValue(dir)!, run.Context.Time).Init(parse.GetValue(name)!, parse.GetValue(days), parse.GetValue(force))));
        return command;
    }

    private static Command IssueNode(CliRun run)
    {
        var node = new Argument<string>("node") { Description = "The agent's node name (Agent:Node); its Hello may claim no other" };
        var (dir, output, days) = (Directory(run), Output(), Days(365));
        var command = new Command("issue-node", "An agent certificate for NODE: OUT/agent-NODE.crt and .key (Agent:Tls:Certificate and :Key)") { node, dir, output, days };
        command.SetAction(parse => Run(run, parse, () =>
        {
            var name = ValidName(parse.GetValue(node)!, "node");
            var directory = parse.GetValue(dir)!;
            return new PrivateCa(directory, run.Context.Time).IssueNode(name, parse.GetValue(output) ?? directory, parse.GetValue(days));
        }));
        return command;
    }

    private static Command IssueServer(CliRun run)
    {
        var names = new Argument<string[]>("name") { Description = "DNS names and IP addresses agents and the CLI use to reach the correlator", Arity = ArgumentArity.OneOrMore };
        var (dir, output, days) = (Directory(run), Output(), Days(365));
        var stem = new Option<string>("--file") { Description = "File name without extension", HelpName = "NAME", DefaultValueFactory = _ => "server" };
        var command = new Command("issue-server", "The correlator's certificate: OUT/server.crt and .key (Correlator:Tls:Certificate and :Key)") { names, dir, output, days, stem };
        command.SetAction(parse => Run(run, parse, () =>
        {
            var hosts = parse.GetValue(names)!;
            foreach (var host in hosts)
            {
                if (Uri.CheckHostName(host.Trim('[', ']')) == UriHostNameType.Unknown)
                {
                    throw new CliUsageException($"'{host}' is neither a DNS name nor an IP address");
                }
            }

            var directory = parse.GetValue(dir)!;
            return new PrivateCa(directory, run.Context.Time).IssueServer(hosts, Path.Combine(parse.GetValue(output) ?? directory, parse.GetValue(stem)!), parse.GetValue(days));
        }));
        return command;
    }

    private static Command IssueClient(CliRun run)
    {
        var user = new Argument<string>("name") { Description = "Who uses it (shown in the correlator's log and refusals)" };
        var role = Role();
        var (dir, output, days) = (Directory(run), Output(), Days(365));
        var command = new Command("issue-client", "A CLI certificate with a role: OUT/client-NAME.crt and .key (capture --cert/--key)") { user, role, dir, output, days };
        command.SetAction(parse => Run(run, parse, () =>
        {
            var name = ValidName(parse.GetValue(user)!, "name");
            var directory = parse.GetValue(dir)!;
            return new PrivateCa(directory, run.Context.Time).IssueUser(name, CliRole(parse.GetValue(role)), parse.GetValue(output) ?? directory, parse.GetValue(days));
        }));
        return command;
    }

    private static Command Token(CliRun run)
    {
        var name = new Option<string>("--name") { Description = "Who uses it (shown in the correlator's log and refusals)", DefaultValueFactory = _ => "cli" };
        var role = Role();
        var command = new Command("token", "A CLI bearer token (printed once) and the Correlator:Access:Tokens entry holding its SHA-256") { name, role };
        command.SetAction(parse =>
        {
            try
            {
                var user = ValidName(parse.GetValue(name)!, "--name");
                var roleName = AccessRoles.Name(CliRole(parse.GetValue(role)));
                var token = AccessTokens.Create();
                var hash = AccessTokens.Hash(token);
                if (parse.GetValue(run.Json))
                {
                    WriteJson(run.Context.Out, w =>
                    {
                        w.WriteString("name", user);
                        w.WriteString("role", roleName);
                        w.WriteString("token", token);
                        w.WriteString("sha256", hash);
                    });
                }
                else
                {
                    run.Context.Out.WriteLine($"token for {user} (role {roleName}); shown once, keep it like a password (capture --token-file or HOPCAPTURE_TOKEN):");
                    run.Context.Out.WriteLine(token);
                    run.Context.Out.WriteLine("add to the correlator's Correlator:Access:Tokens:");
                    run.Context.Out.WriteLine($"  {{ \"Name\": \"{user}\", \"Role\": \"{roleName}\", \"Sha256\": \"{hash}\" }}");
                }

                return ExitCodes.Ok;
            }
            catch (CliUsageException ex)
            {
                run.Context.Error.WriteLine("capture pki: " + ex.Message);
                return ExitCodes.Usage;
            }
        });
        return command;
    }

    private static int Run(CliRun run, ParseResult parse, Func<IssuedCertificate> issue)
    {
        IssuedCertificate issued;
        try
        {
            issued = issue();
        }
        catch (CliUsageException ex)
        {
            run.Context.Error.WriteLine("capture pki: " + ex.Message);
            return ExitCodes.Usage;
        }
        catch (Exception ex) when (ex is PkiException or IOException or UnauthorizedAccessException)
        {
            run.Context.Error.WriteLine("capture pki: " + ex.Message.ReplaceLineEndings(" ").Trim());
            return ExitCodes.Failed;
        }

        using (issued.Certificate)
        {
            var notAfter = issued.Certificate.NotAfter.ToUniversalTime().ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
            if (parse.GetValue(run.Json))
            {
                WriteJson(run.Context.Out, w =>
                {
                    w.WriteString("kind", issued.Kind);
                    w.WriteString("subject", issued.Subject);
                    w.WriteStartArray("names");
                    foreach (var name in issued.Names)
                    {
                        w.WriteStringValue(name);
                    }

                    w.WriteEndArray();
                    w.WriteString("certificate", Path.GetFullPath(issued.CertificatePath));
                    w.WriteString("key", Path.GetFullPath(issued.KeyPath));
                    w.WriteString("notBefore", issued.Certificate.NotBefore.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                    w.WriteString("notAfter", issued.Certificate.NotAfter.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
                    w.WriteString("serial", issued.Certificate.SerialNumber);
                    w.WriteString("sha256", issued.Certificate.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256));
                });
            }
            else
            {
                run.Context.Out.WriteLine($"{issued.Kind} certificate {issued.Subject} ({string.Join(", ", issued.Names)}), valid until {notAfter}");
                run.Context.Out.WriteLine($"  certificate {issued.CertificatePath}");
                run.Context.Out.WriteLine($"  key         {issued.KeyPath} (mode 0600)");
            }
        }

        return ExitCodes.Ok;
    }

    private static Option<string> Directory(CliRun run) => new("--dir")
    {
        Description = $"The CA's directory (env {DirectoryVariable}, default ./{DefaultDirectory})",
        HelpName = "DIR",
        DefaultValueFactory = _ => run.Context.Environment(DirectoryVariable) is { Length: > 0 } fromEnv ? fromEnv : DefaultDirectory,
    };

    private static Option<string?> Output() => new("--out") { Description = "Where to write the certificate and key (default: --dir)", HelpName = "DIR" };

    private static Option<int> Days(int defaultDays) => new("--days")
    {
        Description = $"Validity in days (default {defaultDays})",
        HelpName = "N",
        DefaultValueFactory = _ => defaultDays,
        CustomParser = result => (int)(CliOptions.ParseNumber(result, "--days", 1, 36_500) ?? defaultDays),
    };

    private static Option<string> Role() => new("--role") { Description = "read: queries; operator: also trace", HelpName = AccessRoles.CliRoles, Required = true };

    private static AccessRole CliRole(string? text) =>
        AccessRoles.TryParse(text, out var role) && role != AccessRole.Agent
            ? role
            : throw new CliUsageException($"--role: '{text}' is not one of read, operator");

    private static string ValidName(string name, string what) =>
        NodeNames.IsValid(name, out var problem) ? name : throw new CliUsageException($"{what} '{name}' {problem}");

    private static void WriteJson(TextWriter output, Action<Utf8JsonWriter> body)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            body(writer);
            writer.WriteEndObject();
        }

        output.WriteLine(Encoding.UTF8.GetString(buffer.ToArray()));
        output.Flush();
    }
}
