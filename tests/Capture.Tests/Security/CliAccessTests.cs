using Grpc.Core;
using HopCapture.Cli;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;

namespace HopCapture.Tests.Security;

/// <summary>
/// The CLI's side: tokens and client certificates with roles against a real TLS correlator,
/// through the real `capture` command line (exit codes and the one line it prints) and the raw
/// gRPC status underneath.
/// </summary>
public sealed class CliAccessTests : PkiFixture
{
    private const string ReadToken = "hct_read-token-for-tests";
    private const string OperatorToken = "hct_operator-token-for-tests";

    [Test]
    [CancelAfter(60_000)]
    public async Task Trace_ReadOnlyToken_PermissionDenied(CancellationToken cancellationToken)
    {
        await using var correlator = await StartAsync(cancellationToken);

        var (exit, stdout, stderr) = await CaptureAsync(correlator, ["--token", ReadToken, "trace", "--from", "nc1", "--to", "127.0.0.1", "--count", "1"]);
        var status = await TraceStatusAsync(correlator, ReadToken);

        Assert.That(exit, Is.EqualTo(5));
        Assert.That(stdout, Is.Empty);
        Assert.That(stderr, Is.EqualTo("capture: permission denied: token 'viewer' (role read) may not call Query/Trace: it needs role operator (a trace makes agents send probes)\n"));
        Assert.That(status.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Query_NoCredential_Unauthenticated(CancellationToken cancellationToken)
    {
        await using var correlator = await StartAsync(cancellationToken);

        var (exit, _, stderr) = await CaptureAsync(correlator, ["agents"]);

        Assert.That(exit, Is.EqualTo(5));
        Assert.That(stderr, Is.EqualTo(
            "capture: not authenticated: Query/ListAgents needs a credential: a token (--token, --token-file or HOPCAPTURE_TOKEN) or a client certificate (--cert/--key) with role read\n"));
        Assert.That((await TraceStatusAsync(correlator, null)).StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Query_WrongToken_Unauthenticated(CancellationToken cancellationToken)
    {
        await using var correlator = await StartAsync(cancellationToken);

        var (exit, _, stderr) = await CaptureAsync(correlator, ["agents"], ("HOPCAPTURE_TOKEN", "hct_not-a-configured-token"));

        Assert.That(exit, Is.EqualTo(5));
        Assert.That(stderr, Is.EqualTo("capture: not authenticated: the bearer token is not one of Correlator:Access:Tokens (mistyped, or revoked)\n"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Trace_OperatorToken_PassesAuthorization(CancellationToken cancellationToken)
    {
        await using var correlator = await StartAsync(cancellationToken);
        var tokenFile = Path.Combine(Pki.Root, "operator.token");
        await File.WriteAllTextAsync(tokenFile, OperatorToken + "\n", cancellationToken);

        var (exit, _, stderr) = await CaptureAsync(correlator, ["--token-file", tokenFile, "trace", "--from", "nc1", "--to", "127.0.0.1", "--count", "1"]);
        var status = await TraceStatusAsync(correlator, OperatorToken);

        // Accepted: what stops it now is the trace's own check (no agent), not access control.
        Assert.That(status.StatusCode, Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(status.Status.Detail, Is.EqualTo("no agent of node 'nc1' is connected (see capture agents)"));
        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr, Is.EqualTo("capture: the correlator rejected the request: no agent of node 'nc1' is connected (see capture agents)\n"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Queries_ReadCertificateAllowed_TraceDenied_AgentCertificateDenied(CancellationToken cancellationToken)
    {
        await using var correlator = await StartAsync(cancellationToken);
        await TestPki.CaptureAsync("pki", "issue-client", "alice", "--role", "read", "--dir", Pki.CaDirectory);
        await Pki.IssueNodeAsync("nc1");
        string[] alice = ["--cert", Path.Combine(Pki.CaDirectory, "client-alice.crt"), "--key", Path.Combine(Pki.CaDirectory, "client-alice.key")];
        string[] agent = ["--cert", Path.Combine(Pki.CaDirectory, "agent-nc1.crt"), "--key", Path.Combine(Pki.CaDirectory, "agent-nc1.key")];

        var agents = await CaptureAsync(correlator, [.. alice, "agents", "--json"]);
        var trace = await CaptureAsync(correlator, [.. alice, "trace", "--from", "nc1", "--to", "127.0.0.1"]);
        var asAgent = await CaptureAsync(correlator, [.. agent, "paths"]);

        Assert.That(agents.Exit, Is.Zero, agents.Stderr);
        Assert.That(trace.Exit, Is.EqualTo(5));
        Assert.That(trace.Stderr, Is.EqualTo("capture: permission denied: the certificate of read 'alice' may not call Query/Trace: it needs role operator (a trace makes agents send probes)\n"));
        Assert.That(asAgent.Exit, Is.EqualTo(5));
        Assert.That(asAgent.Stderr, Is.EqualTo("capture: permission denied: the certificate of agent 'nc1' may only use the ingest stream, not Query/ListPaths\n"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Connect_CorrelatorCertificateNotFromTheGivenCa_OneLineNamingTheCheck(CancellationToken cancellationToken)
    {
        await using var correlator = await StartAsync(cancellationToken);
        var foreign = Pki.IssueForeign("x");

        var (exit, _, stderr) = await CaptureAsync(correlator, ["--token", ReadToken, "--ca", Path.Combine(Path.GetDirectoryName(foreign.Certificate)!, "ca.crt"), "agents"], ("CA", null));

        Assert.That(exit, Is.EqualTo(1));
        Assert.That(stderr, Is.EqualTo($"capture: TLS handshake with the correlator at {correlator.Address} failed: the correlator's certificate CN=127.0.0.1 (issuer CN=Test CA) is not issued by a CA in --ca\n"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task AnalyzeLoad_AgentCertificateLoadsItsNode_ReadTokenRefused(CancellationToken cancellationToken)
    {
        await using var correlator = await StartAsync(cancellationToken);
        var nc1 = await Pki.IssueNodeAsync("nc1");
        var pcap = Path.Combine(Pki.Root, "nc1.pcap");
        using (var builder = new HopCapture.Tests.Support.PcapFileBuilder(pcap))
        {
            builder.AddEcho(1_000_000_000, System.Net.IPAddress.Parse("10.0.0.1"), System.Net.IPAddress.Parse("10.0.0.2"), request: true, 1, 1, 1);
        }

        var loaded = await CaptureAsync(correlator, ["--cert", nc1.Certificate, "--key", nc1.Key, "--json", "analyze", $"nc1:eth0:nic={pcap}", "--load", correlator.Address]);
        var refused = await CaptureAsync(correlator, ["--token", ReadToken, "analyze", $"nc1:eth0:nic={pcap}", "--load", correlator.Address]);

        Assert.That(loaded.Exit, Is.Zero, loaded.Stderr);
        Assert.That(loaded.Stdout, Does.Contain("\"accepted\": \"1\""));
        Assert.That(refused.Exit, Is.EqualTo(1));
        Assert.That(refused.Stderr, Is.EqualTo(
            $"capture: the correlator at {correlator.Address} refused the load: PermissionDenied: token 'viewer' (role read) is a CLI credential; Ingest/Connect takes agent certificates only ('capture pki issue-node NODE')\n"));
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task Token_OverPlaintextToAnotherHost_RefusedBeforeSending(CancellationToken cancellationToken)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();

        var exit = await CliApp.RunAsync(["--correlator", "http://192.0.2.7:7400", "--token", ReadToken, "agents"], stdout, stderr, cancellationToken);

        Assert.That(exit, Is.EqualTo(2));
        Assert.That(stderr.ToString(), Is.EqualTo(
            "capture: not sending a token: 'http://192.0.2.7:7400' is plaintext (http://) to a host that is not loopback; use https:// with a CA (see 'capture pki')\n"));
    }

    private Task<TestCorrelator> StartAsync(CancellationToken cancellationToken) =>
        TestCorrelator.StartAsync(overrides: Pki.CorrelatorSettings(("viewer", "read", ReadToken), ("ops", "operator", OperatorToken)), cancellationToken: cancellationToken);

    /// <summary>`capture --correlator ADDRESS --ca CA ARGS` in-process with an environment of its own (HOPCAPTURE_CA unless overridden).</summary>
    private async Task<(int Exit, string Stdout, string Stderr)> CaptureAsync(TestCorrelator correlator, string[] args, params (string Name, string? Value)[] environment)
    {
        var variables = new Dictionary<string, string?> { ["HOPCAPTURE_CA"] = Pki.CaCertificate };
        foreach (var (name, value) in environment)
        {
            variables[name == "CA" ? "HOPCAPTURE_CA" : name] = value;
        }

        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var context = new CliContext(stdout, stderr) { Environment = name => variables.GetValueOrDefault(name) };
        var exit = await CliApp.RunAsync(["--correlator", correlator.Address, .. args], context).WaitAsync(TimeSpan.FromSeconds(30));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private async Task<RpcException> TraceStatusAsync(TestCorrelator correlator, string? token)
    {
        var address = new Uri(correlator.Address);
        using var channel = HopCapture.IngestClient.IngestChannels.Create(
            address,
            HopCapture.IngestClient.CorrelatorCredentials.For(address, new() { Ca = Pki.CaCertificate }, HopCapture.IngestClient.TlsSettingNames.ForSection("Test"), token),
            TimeSpan.FromSeconds(5),
            HttpKeepAlivePingPolicy.Always);
        var client = new Query.QueryClient(channel);
        return Assert.ThrowsAsync<RpcException>(async () =>
        {
            using var call = client.Trace(new TraceRunRequest { From = "nc1", To = "127.0.0.1", Count = 1 }, deadline: DateTime.UtcNow.AddSeconds(20));
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
            }
        })!;
    }
}
