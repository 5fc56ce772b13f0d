using Grpc.Core;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;

namespace HopCapture.Tests.Security;

/// <summary>
/// The agents' side of issue 11's security: a real correlator with TLS (Kestrel), real
/// certificates from `capture pki` and openssl, the real channel factory the agent uses.
/// </summary>
public sealed class MutualTlsTests : PkiFixture
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Ingest_NoClientCertificate_Unauthenticated(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(), cancellationToken: cancellationToken);
        var (channel, client) = TestPki.Ingest(correlator, new() { Ca = Pki.CaCertificate });
        using var _ = channel;

        var refusal = await RefusedAsync(client, Report003.HelloFor("nc1"));

        Assert.That(refusal.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(refusal.Status.Detail, Is.EqualTo(
            "Ingest/Connect needs a client certificate: agents connect with the certificate of their node (Agent:Tls:Certificate, from 'capture pki issue-node NODE')"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Ingest_CertificateFromForeignCa_Unauthenticated(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(), cancellationToken: cancellationToken);
        var (channel, client) = TestPki.Ingest(correlator, Pki.IssueForeign("nc1"));
        using var _ = channel;

        var refusal = await RefusedAsync(client, Report003.HelloFor("nc1"));

        Assert.That(refusal.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(refusal.Status.Detail, Is.EqualTo("certificate CN=nc1 (issuer CN=Foreign CA) is not issued by a CA in Correlator:Tls:ClientCa"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Ingest_ExpiredCertificate_Unauthenticated(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(), cancellationToken: cancellationToken);
        var (channel, client) = TestPki.Ingest(correlator, Pki.IssueExpired("nc1"));
        using var _ = channel;

        var refusal = await RefusedAsync(client, Report003.HelloFor("nc1"));

        Assert.That(refusal.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(refusal.Status.Detail, Does.StartWith("certificate CN=nc1 expired on ").And.EndWith(" UTC"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Ingest_HelloForAnotherNode_PermissionDeniedNamingBoth_OtherAgentKeepsWorking(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(), cancellationToken: cancellationToken);
        var (honestChannel, honestClient) = TestPki.Ingest(correlator, await Pki.IssueNodeAsync("nc2"));
        var (impostorChannel, impostorClient) = TestPki.Ingest(correlator, await Pki.IssueNodeAsync("nc1"));
        using var _ = honestChannel;
        using var __ = impostorChannel;
        await using var honest = await TestAgent.ConnectAsync(honestClient, Report003.HelloFor("nc2"));

        var refusal = await RefusedAsync(impostorClient, Report003.HelloFor("nc2"));
        var ack = await honest.SendBatchAsync(1, []);

        Assert.That(refusal.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(refusal.Status.Detail, Is.EqualTo(
            "the certificate of agent 'nc1' may only send for node 'nc1', but its Hello claims node 'nc2'; set Agent:Node to 'nc1' or issue a certificate for 'nc2' ('capture pki issue-node nc2')"));
        Assert.That(ack.Seq, Is.EqualTo(1UL), "the agent with its own node's certificate is still served");
        await using var own = await TestAgent.ConnectAsync(impostorClient, Report003.HelloFor("nc1"));
        Assert.That(own.Welcome.AgentId, Does.StartWith("nc1/"), "the same certificate is welcome for its own node");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Ingest_CliTokenOnTheIngestStream_PermissionDenied(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: Pki.CorrelatorSettings(("ops", "operator", "op-token")), cancellationToken: cancellationToken);
        var (channel, client) = TestPki.Ingest(correlator, new() { Ca = Pki.CaCertificate }, token: "op-token");
        using var _ = channel;

        var refusal = await RefusedAsync(client, Report003.HelloFor("nc1"));

        Assert.That(refusal.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(refusal.Status.Detail, Is.EqualTo(
            "token 'ops' (role operator) is a CLI credential; Ingest/Connect takes agent certificates only ('capture pki issue-node NODE')"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Rotation_CertificateFromNewCaInTheBundle_AcceptedWithoutRestart_OldCaRemovedRefused(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(), cancellationToken: cancellationToken);
        var oldCert = await Pki.IssueNodeAsync("nc1");
        var newCaDirectory = Path.Combine(Pki.Root, "ca-2");
        await TestPki.CaptureAsync("pki", "init", "--dir", newCaDirectory, "--name", "Test CA 2");
        var newCert = await Pki.IssueNodeAsync("nc1", newCaDirectory);
        newCert.Ca = Pki.CaCertificate;

        // Step 1: the bundle gets the new CA next to the old one; both certificates are accepted.
        var oldPem = await File.ReadAllTextAsync(Pki.CaCertificate, cancellationToken);
        var newPem = await File.ReadAllTextAsync(Path.Combine(newCaDirectory, "ca.crt"), cancellationToken);
        await File.WriteAllTextAsync(Pki.ClientCaBundle, oldPem + newPem, cancellationToken);
        await ConnectedAsync(correlator, oldCert, "nc1");
        await ConnectedAsync(correlator, newCert, "nc1");

        // Step 3: the old CA leaves the bundle; what it signed is refused from the next call on.
        await File.WriteAllTextAsync(Pki.ClientCaBundle, newPem, cancellationToken);
        File.SetLastWriteTimeUtc(Pki.ClientCaBundle, DateTime.UtcNow.AddSeconds(5));
        var (channel, client) = TestPki.Ingest(correlator, oldCert);
        using var _ = channel;
        var refusal = await RefusedAsync(client, Report003.HelloFor("nc1"));
        await ConnectedAsync(correlator, newCert, "nc1");

        Assert.That(refusal.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(refusal.Status.Detail, Is.EqualTo("certificate CN=nc1 (issuer CN=Test CA) is not issued by a CA in Correlator:Tls:ClientCa"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task ServerCertificate_ReissuedOnDisk_ServedFromTheNextConnection(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(), cancellationToken: cancellationToken);
        var before = await ServedSerialAsync(correlator, cancellationToken);

        var reissued = await TestPki.CaptureAsync("pki", "issue-server", "127.0.0.1", "--dir", Pki.CaDirectory, "--json");
        var after = await ServedSerialAsync(correlator, cancellationToken);

        using var json = System.Text.Json.JsonDocument.Parse(reissued);
        Assert.That(after, Is.Not.EqualTo(before));
        Assert.That(after, Is.EqualTo(json.RootElement.GetProperty("serial").GetString()), "the re-issued certificate, without a restart");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Metrics_OnTheTlsGrpcPort_NotFound(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(), cancellationToken: cancellationToken);
        var tls = new HopCapture.IngestClient.ClientTls(new() { Ca = Pki.CaCertificate }, HopCapture.IngestClient.TlsSettingNames.ForSection("Test"));
        using var handler = new SocketsHttpHandler { SslOptions = tls.SslOptions() };
        using var http = new HttpClient(handler) { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

        using var response = await http.GetAsync(correlator.Address + "/metrics", cancellationToken);

        Assert.That(correlator.Address, Does.StartWith("https://"));
        Assert.That(response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.NotFound), "metrics only where configured, never on the gRPC port");
    }

    /// <summary>The serial number of the certificate the correlator presents to a new connection.</summary>
    private async Task<string> ServedSerialAsync(TestCorrelator correlator, CancellationToken cancellationToken)
    {
        string? serial = null;
        var ca = HopCapture.Security.PemFiles.LoadBundle("ca", Pki.CaCertificate);
        using var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var served = new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate!);
            serial = served.SerialNumber;
            return HopCapture.Security.ChainCheck.Problem(served, ca, DateTimeOffset.UtcNow, HopCapture.Security.ChainCheck.ServerAuthentication, "ca") is null;
        };
        using var http = new HttpClient(handler) { DefaultRequestVersion = System.Net.HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await http.GetAsync(correlator.Address + "/", cancellationToken);
        return serial ?? throw new AssertionException("no server certificate seen");
    }

    private static async Task ConnectedAsync(TestCorrelator correlator, HopCapture.IngestClient.ClientTlsOptions tls, string node)
    {
        var (channel, client) = TestPki.Ingest(correlator, tls);
        using var _ = channel;
        await using var agent = await TestAgent.ConnectAsync(client, Report003.HelloFor(node));
        Assert.That(agent.Welcome.AgentId, Does.StartWith(node + "/"));
    }

    /// <summary>Opens the stream, sends the Hello and returns how the correlator ended the call.</summary>
    private static async Task<RpcException> RefusedAsync(Ingest.IngestClient client, Hello hello)
    {
        using var call = client.Connect(deadline: DateTime.UtcNow.AddSeconds(30));
        try
        {
            await call.RequestStream.WriteAsync(new AgentMessage { Hello = hello }).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (RpcException)
        {
            // Refused before the Hello was read: the response side says why, below.
        }
        catch (InvalidOperationException)
        {
        }

        var refusal = Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(10)))
            {
            }
        });
        return refusal!;
    }
}
