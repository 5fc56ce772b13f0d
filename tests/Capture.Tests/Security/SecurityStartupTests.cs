using System.Net;
using HopCapture.Correlator.Hosting;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Security;

/// <summary>
/// What refuses to start, with one line naming the key: a correlator in plaintext off loopback or
/// with no TLS at all, unreadable certificate files; the real agent exe with a certificate the
/// correlator refuses (exit 2, not retried) or a plaintext URL to another host.
/// </summary>
[CancelAfter(120_000)]
public sealed class SecurityStartupTests : PkiFixture
{
    [Test]
    public async Task Correlator_PlaintextOnNonLoopbackAddress_ExitsTwoNamingTheKey()
    {
        var (exit, stderr) = await RunCorrelatorAsync("--listen", "192.0.2.1:7400", "--Correlator:Plaintext=true");

        Assert.That(exit, Is.EqualTo(CorrelatorApp.ExitConfig));
        Assert.That(stderr, Is.EqualTo(
            "correlator: Correlator:Plaintext: plaintext is allowed on a loopback address only, and Correlator:Listen is 192.0.2.1:7400; configure Correlator:Tls (see 'capture pki')\n"));
    }

    [Test]
    public async Task Correlator_NoTlsAndNoPlaintext_ExitsTwoSayingHowToIssueCertificates()
    {
        var (exit, stderr) = await RunCorrelatorAsync("--listen", "127.0.0.1:0");

        Assert.That(exit, Is.EqualTo(CorrelatorApp.ExitConfig));
        Assert.That(stderr, Is.EqualTo(
            "correlator: Correlator:Tls:Certificate: not set. Create a CA and certificates with 'capture pki init' and 'capture pki issue-server ADDR', " +
            "then set Correlator:Tls:Certificate, :Key and :ClientCa (or set Correlator:Plaintext=true for a test setup on loopback)\n"));
    }

    [Test]
    public async Task Correlator_UnreadableKey_ExitsTwoNamingKeyAndFile()
    {
        var missing = Path.Combine(Pki.Root, "nope.key");
        var settings = Pki.CorrelatorSettings();

        var (exit, stderr) = await RunCorrelatorAsync(
            "--listen", "127.0.0.1:0",
            $"--Correlator:Tls:Certificate={settings["Correlator:Tls:Certificate"]}",
            $"--Correlator:Tls:Key={missing}",
            $"--Correlator:Tls:ClientCa={settings["Correlator:Tls:ClientCa"]}");

        Assert.That(exit, Is.EqualTo(CorrelatorApp.ExitConfig));
        Assert.That(stderr, Is.EqualTo($"correlator: Correlator:Tls:Key: file does not exist ('{missing}')\n"));
    }

    [Test]
    public async Task Agent_CertificateOfAnotherNode_ExitsTwoWithTheRefusal()
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings());
        var nc1 = await Pki.IssueNodeAsync("nc1");

        var result = await RunAgentAsync(["--node", "nc2", "--correlator", correlator.Address, .. Tls(nc1)]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.StdErr, Does.Contain(
            $"agent: the correlator at {correlator.Address} refused this agent: PermissionDenied: the certificate of agent 'nc1' may only send for node 'nc1', but its Hello claims node 'nc2'"));
    }

    [Test]
    public async Task Agent_CorrelatorCertificateFromAnotherCa_ExitsTwoNamingTheHandshake()
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings());
        var nc1 = await Pki.IssueNodeAsync("nc1");
        nc1.Ca = Path.Combine(Path.GetDirectoryName(Pki.IssueForeign("x").Certificate)!, "ca.crt");

        var result = await RunAgentAsync(["--node", "nc1", "--correlator", correlator.Address, .. Tls(nc1)]);

        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.StdErr, Does.Contain(
            $"agent: the correlator at {correlator.Address} refused this agent: TLS handshake with the correlator failed: the correlator's certificate CN=127.0.0.1 (issuer CN=Test CA) is not issued by a CA in Agent:Tls:Ca"));
    }

    [Test]
    public async Task Agent_UnreadableKeyOrPlaintextToAnotherHost_ExitsTwoNamingTheKey()
    {
        var nc1 = await Pki.IssueNodeAsync("nc1");
        var missing = Path.Combine(Pki.Root, "nope.key");
        nc1.Key = missing;

        var badKey = await RunAgentAsync(["--node", "nc1", "--correlator", "https://127.0.0.1:1", .. Tls(nc1)]);
        var plaintext = await RunAgentAsync(["--node", "nc1", "--correlator", "http://192.0.2.1:7400"]);

        Assert.That(badKey.ExitCode, Is.EqualTo(2), badKey.ToString());
        Assert.That(badKey.StdErr.Trim(), Is.EqualTo($"agent: Agent:Tls:Key: file does not exist ('{missing}')"));
        Assert.That(plaintext.ExitCode, Is.EqualTo(2), plaintext.ToString());
        Assert.That(plaintext.StdErr.Trim(), Is.EqualTo(
            "agent: Agent:Correlator: 'http://192.0.2.1:7400' is plaintext (http://) to a host that is not loopback; use https:// with a CA (see 'capture pki')"));
    }

    private static string[] Tls(HopCapture.IngestClient.ClientTlsOptions tls) =>
        [$"--Agent:Tls:Certificate={tls.Certificate}", $"--Agent:Tls:Key={tls.Key}", $"--Agent:Tls:Ca={tls.Ca}"];

    /// <summary>The real agent exe replaying one echo on one interface (no capture privileges needed).</summary>
    private Task<ProcessResult> RunAgentAsync(string[] args)
    {
        var pcap = Path.Combine(Pki.Root, "one-echo.pcap");
        if (!File.Exists(pcap))
        {
            using var builder = new PcapFileBuilder(pcap);
            builder.AddEcho(1_000_000_000, IPAddress.Parse("10.0.0.1"), IPAddress.Parse("10.0.0.2"), request: true, 1, 1, 1);
        }

        return ProcessRunner.RunAsync(
            "dotnet",
            [RepoPaths.Executable("Agent", "hopcapture-agent"), .. args, "--iface", "eth0=nic", "--replay", $"eth0={pcap}"],
            TimeSpan.FromSeconds(60),
            CancellationToken.None);
    }

    private static async Task<(int Exit, string Stderr)> RunCorrelatorAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var db = Path.Combine(Path.GetTempPath(), $"hc-sec-{Guid.NewGuid():N}.db");
        var exit = await CorrelatorApp.RunAsync([.. args, "--db", db], stdout, stderr).WaitAsync(TimeSpan.FromSeconds(30));
        return (exit, stderr.ToString());
    }
}
