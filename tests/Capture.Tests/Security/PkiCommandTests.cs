using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using HopCapture.Cli;
using HopCapture.Security;

namespace HopCapture.Tests.Security;

/// <summary>`capture pki`: what it writes (modes, names, usages), --json, and its exit codes.</summary>
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class PkiCommandTests
{
    private string _dir = null!;

    [SetUp]
    public void SetUp() => _dir = Path.Combine(Path.GetTempPath(), "hc-pkicmd-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task InitAndIssue_WriteOwnerOnlyKeys_IdentitiesAndJson(CancellationToken cancellationToken)
    {
        var init = await RunAsync("pki", "init", "--dir", _dir, "--json");
        var node = await RunAsync("pki", "issue-node", "pve1", "--dir", _dir, "--json");
        var client = await RunAsync("pki", "issue-client", "alice", "--role", "operator", "--dir", _dir);
        var server = await RunAsync("pki", "issue-server", "correlator.example", "10.0.0.5", "--dir", _dir, "--json");

        using var nodeJson = JsonDocument.Parse(node.Stdout);
        using var serverJson = JsonDocument.Parse(server.Stdout);
        using var nodeCert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_dir, "agent-pve1.crt")));
        using var clientCert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_dir, "client-alice.crt")));
        using var serverCert = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_dir, "server.crt")));
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(Path.Combine(_dir, "ca.crt")));
        Assert.Multiple(() =>
        {
            Assert.That((init.Exit, node.Exit, client.Exit, server.Exit), Is.EqualTo((0, 0, 0, 0)), init.Stderr + node.Stderr + client.Stderr + server.Stderr);
            foreach (var key in new[] { "ca.key", "agent-pve1.key", "client-alice.key", "server.key" })
            {
                Assert.That(File.GetUnixFileMode(Path.Combine(_dir, key)), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), key);
            }

            Assert.That(nodeJson.RootElement.GetProperty("kind").GetString(), Is.EqualTo("node"));
            Assert.That(nodeJson.RootElement.GetProperty("names")[0].GetString(), Is.EqualTo("urn:hopcapture:agent:pve1"));
            Assert.That(CertificateIdentity.From(nodeCert), Is.EqualTo(new CertificateIdentity(AccessRole.Agent, "pve1")));
            Assert.That(CertificateIdentity.From(clientCert), Is.EqualTo(new CertificateIdentity(AccessRole.Operator, "alice")));
            Assert.That(CertificateIdentity.From(serverCert), Is.Null, "a server certificate is nobody's client identity");
            Assert.That(serverCert.MatchesHostname("correlator.example") && serverCert.MatchesHostname("10.0.0.5"), Is.True);
            Assert.That(serverJson.RootElement.GetProperty("notAfter").GetString(), Does.Match(@"^\d{4}-\d\d-\d\dT"));
            Assert.That(ChainCheck.Problem(nodeCert, [ca], DateTimeOffset.UtcNow, ChainCheck.ClientAuthentication, "ca"), Is.Null);
            Assert.That(ChainCheck.Problem(serverCert, [ca], DateTimeOffset.UtcNow, ChainCheck.ClientAuthentication, "ca"),
                Is.EqualTo("certificate CN=correlator.example is not valid for Client Authentication"));
            Assert.That(ChainCheck.Problem(nodeCert, [ca], DateTimeOffset.UtcNow.AddDays(366), ChainCheck.ClientAuthentication, "ca"),
                Does.StartWith("certificate CN=pve1 expired on "));
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Refusals_ExitCodesAndOneLine(CancellationToken cancellationToken)
    {
        await RunAsync("pki", "init", "--dir", _dir);

        var again = await RunAsync("pki", "init", "--dir", _dir);
        var badRole = await RunAsync("pki", "issue-client", "bob", "--role", "admin", "--dir", _dir);
        var badNode = await RunAsync("pki", "issue-node", "a b", "--dir", _dir);
        var noCa = await RunAsync("pki", "issue-node", "pve1", "--dir", Path.Combine(_dir, "empty"));

        Assert.Multiple(() =>
        {
            Assert.That((again.Exit, again.Stderr), Is.EqualTo((1, $"capture pki: a CA exists in '{_dir}' already (ca.crt); use another --dir (a rotation: see README) or --force to replace it\n")));
            Assert.That((badRole.Exit, badRole.Stderr), Is.EqualTo((2, "capture pki: --role: 'admin' is not one of read, operator\n")));
            Assert.That((badNode.Exit, badNode.Stderr), Is.EqualTo((2, "capture pki: node 'a b' contains ' ' (allowed: letters, digits, '.', '-', '_', ':', '@')\n")));
            Assert.That(noCa.Exit, Is.EqualTo(1));
            Assert.That(noCa.Stderr, Does.StartWith($"capture pki: cannot use the CA in '{Path.Combine(_dir, "empty")}'").And.EndWith($"create one with 'capture pki init --dir {Path.Combine(_dir, "empty")}'\n"));
        });
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Token_PrintsTokenOnceAndTheHashTheCorrelatorKeeps(CancellationToken cancellationToken)
    {
        var text = await RunAsync("pki", "token", "--name", "grafana", "--role", "read");
        var json = await RunAsync("pki", "token", "--name", "ops", "--role", "operator", "--json");

        using var document = JsonDocument.Parse(json.Stdout);
        var token = document.RootElement.GetProperty("token").GetString()!;
        var lines = text.Stdout.Split('\n');
        Assert.Multiple(() =>
        {
            Assert.That(text.Exit, Is.Zero);
            Assert.That(lines[1], Does.StartWith(AccessTokens.Prefix));
            Assert.That(lines[3], Is.EqualTo($"  {{ \"Name\": \"grafana\", \"Role\": \"read\", \"Sha256\": \"{AccessTokens.Hash(lines[1])}\" }}"));
            Assert.That(document.RootElement.GetProperty("sha256").GetString(), Is.EqualTo(AccessTokens.Hash(token)));
            Assert.That(AccessTokens.Matches(token, AccessTokens.Hash(token)) && !AccessTokens.Matches(token + "x", AccessTokens.Hash(token)), Is.True);
        });
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(20));
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
