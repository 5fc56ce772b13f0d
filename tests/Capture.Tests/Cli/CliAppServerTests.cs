using Google.Protobuf;
using HopCapture.Protos;

namespace HopCapture.Tests.Cli;

/// <summary>The CLI against a real loopback gRPC server answering the Query contract.</summary>
public class CliAppServerTests
{
    private CannedQueryServer _server = null!;

    [OneTimeSetUp]
    public async Task StartServer() => _server = await CannedQueryServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopServer() => await _server.DisposeAsync();

    [Test]
    public async Task Explain_ById_PrintsTheTableAndVerdict()
    {
        var result = await CliAppTests.Run(["explain", "42", "--correlator", _server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.Stderr, Is.Empty);
        Assert.That(result.Stdout, Does.Contain("hv-a/eth0 → hv-b/eth0").And.Contain("verdict: fabric, 120.37 ms"));
    }

    [Test]
    public async Task Explain_UnknownId_Exit4WithTheCorrelatorsReason()
    {
        var result = await CliAppTests.Run(["explain", "7", "--correlator", _server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(4));
        Assert.That(result.Stdout, Is.Empty);
        Assert.That(result.Stderr, Is.EqualTo("capture: not found: no probe with id 7\n"));
    }

    [Test]
    public async Task Explain_ByKeyAsJson_SendsLookupAndPrintsTheProbeRecord()
    {
        var result = await CliAppTests.Run(
            ["explain", "--src", "192.168.47.111", "--dst", "192.168.47.127", "--seq", "110", "--correlator", _server.Url, "--json"]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(JsonParser.Default.Parse<ProbeRecord>(result.Stdout), Is.EqualTo(Seed003.Probe()));
        var lookup = _server.Service.Requests.OfType<GetProbeRequest>().Last(r => r.ByCase == GetProbeRequest.ByOneofCase.Lookup).Lookup;
        Assert.That(lookup.Path.Src, Is.EqualTo("192.168.47.111"));
        Assert.That(lookup.Path.Dst, Is.EqualTo("192.168.47.127"));
        Assert.That(lookup.IcmpSeq, Is.EqualTo(110));
        Assert.That(lookup.IcmpId, Is.EqualTo(-1), "any ICMP id when --id is not given");
    }

    [Test]
    public async Task Probes_Json_StdoutIsExactlyTheResponseAndFiltersAreSent()
    {
        var before = DateTimeOffset.UtcNow;

        var result = await CliAppTests.Run(
            ["probes", "--json", "--min-rtt", "20ms", "--since", "10m", "--order", "rtt", "--limit", "5", "--lost", "--correlator", _server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(JsonParser.Default.Parse<ListProbesResponse>(result.Stdout), Is.EqualTo(CannedQueryService.Probes()));
        var request = _server.Service.Requests.OfType<ListProbesRequest>().Last();
        Assert.That(request.MinRttNs, Is.EqualTo(20_000_000));
        Assert.That(request.Order, Is.EqualTo("rtt"));
        Assert.That(request.Limit, Is.EqualTo(5));
        Assert.That(request.LostOnly, Is.True);
        var expectedSince = HopCapture.Cli.Parsing.TimeArguments.ToUnixNs(before.AddMinutes(-10));
        Assert.That(request.SinceNs, Is.InRange(expectedSince - 5_000_000_000L, expectedSince + 30_000_000_000L));
    }

    [Test]
    public async Task Paths_Table_ShowsThePathRow()
    {
        var result = await CliAppTests.Run(["paths", "--correlator", _server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.Stdout, Does.Contain("192.168.47.111 → 192.168.47.127").And.Contain("fabric"));
    }

    [Test]
    public async Task Watch_Count3_PrintsThreeLinesAndStops()
    {
        var result = await CliAppTests.Run(["watch", "--count", "3", "--correlator", _server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        var lines = result.Stdout.TrimEnd('\n').Split('\n');
        Assert.That(lines, Has.Length.EqualTo(3));
        Assert.That(lines[2], Is.EqualTo("19:53:08.851499 192.168.47.111 → 192.168.47.127 seq 3 rtt 120.55 ms fabric, 120.37 ms"));
    }

    [Test]
    public async Task Watch_JsonCount2_OneProbeRecordPerLine()
    {
        var result = await CliAppTests.Run(["watch", "--json", "--count", "2", "--correlator", _server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        var seqs = result.Stdout.TrimEnd('\n').Split('\n').Select(line => JsonParser.Default.Parse<ProbeRecord>(line).Key.IcmpSeq);
        Assert.That(seqs, Is.EqualTo(new uint[] { 1, 2 }));
    }

    [Test]
    public async Task Watch_DurationOnAQuietStream_StopsByItselfWithExit0()
    {
        var result = await CliAppTests.Run(["watch", "--src", "10.77.0.9", "--duration", "300ms", "--correlator", _server.Url]);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.Stdout, Is.Empty);
    }

    [Test]
    public async Task Watch_Cancelled_StopsCleanlyWithExit0()
    {
        using var interrupt = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var result = await CliAppTests.Run(["watch", "--src", "10.77.0.9", "--correlator", _server.Url], cancellationToken: interrupt.Token);

        Assert.That(result.ExitCode, Is.EqualTo(0), result.Stderr);
        Assert.That(result.Stderr, Is.Empty);
    }

    [Test]
    public async Task Watch_QuietStreamOnTerminal_ShowsWaitingStatusThenClearsIt()
    {
        var result = await CliAppTests.Run(
            ["watch", "--src", "10.77.0.9", "--duration", "300ms", "--correlator", _server.Url], stderrIsTerminal: true);

        Assert.That(result.ExitCode, Is.EqualTo(0));
        Assert.That(result.Stderr, Does.StartWith($"\rwaiting for probes from {_server.Url} (0s, Ctrl-C to stop)"));
        Assert.That(result.Stderr, Does.EndWith("\r").And.Not.Contain('\n'), "the status line is erased, not left behind");
    }

    [Test]
    public async Task Watch_NotATerminal_NoStatusLine()
    {
        var result = await CliAppTests.Run(["watch", "--src", "10.77.0.9", "--duration", "300ms", "--correlator", _server.Url]);

        Assert.That(result.Stderr, Is.Empty);
    }
}
