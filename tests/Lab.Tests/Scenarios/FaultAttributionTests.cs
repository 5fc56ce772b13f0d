using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using HopCapture.Lab.Tests.Infrastructure;
using HopCapture.Protos;

namespace HopCapture.Lab.Tests.Scenarios;

/// <summary>
/// End to end in network namespaces: real agents capturing with libpcap on the lab's interfaces,
/// the real correlator, and the CLI. Each test congests one segment of vm1 -> vm2 the way it
/// happens in the field (rate limit + bulk flow, see build/lab.sh) and expects the slow probes
/// to be blamed on that segment's kind.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class FaultAttributionTests
{
    private const string Source = "10.77.0.11";
    private const string Destination = "10.77.0.12";
    private const int MinimumSlowProbes = 10;
    private const double RequiredShare = 0.9;
    private static readonly long s_slowNs = (long)TimeSpan.FromMilliseconds(20).TotalNanoseconds;
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private LabEnvironment? _lab;

    [OneTimeSetUp]
    public async Task StartLabAsync() => _lab = await LabEnvironment.StartPipelineOrIgnoreAsync();

    [OneTimeTearDown]
    public async Task StopLabAsync()
    {
        if (_lab is not null)
        {
            await _lab.DownAsync();
        }
    }

    [Test]
    [CancelAfter(300_000)]
    public Task SlowPing_FabricReplyLegCongested_VerdictIsFabric(CancellationToken cancellationToken) =>
        RunScenarioAsync("fabric", cancellationToken);

    [Test]
    [CancelAfter(300_000)]
    public Task SlowPing_SourceNicEgressCongested_VerdictIsNic(CancellationToken cancellationToken) =>
        RunScenarioAsync("nic", cancellationToken);

    [Test]
    [CancelAfter(300_000)]
    public Task SlowPing_VirtioHopCongested_VerdictIsVif(CancellationToken cancellationToken) =>
        RunScenarioAsync("vif", cancellationToken);

    private async Task RunScenarioAsync(string kind, CancellationToken cancellationToken)
    {
        var lab = _lab ?? throw new InvalidOperationException("the lab fixture did not start");
        // Earlier scenarios ran within the last minutes: only probes sent from now on count.
        var startNs = TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000L;

        await lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "fault", kind);
        ProcessResult ping;
        try
        {
            ping = await LabEnvironment.InNamespaceAsync(
                "hc-vm1", TimeSpan.FromSeconds(90), cancellationToken,
                "ping", "-i", "0.05", "-c", "200", "-W", "1", Destination);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await lab.LabAsync(TimeSpan.FromMinutes(1), cleanup.Token, "fault", "clear");
        }

        var received = ReceivedRegex().Match(ping.StdOut) is { Success: true } m
            ? int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)
            : 0;
        Assert.That(received, Is.GreaterThanOrEqualTo(100),
            $"the lab itself is broken: ping vm1 -> vm2 under the {kind} fault got {received}/200 replies\n{ping}");

        var (slow, lastError) = await PollSlowProbesAsync(lab, startNs, cancellationToken);

        var histogram = string.Join(", ", slow
            .GroupBy(p => string.IsNullOrEmpty(p.Verdict?.Kind) ? "(none)" : p.Verdict.Kind)
            .OrderByDescending(g => g.Count())
            .Select(g => $"{g.Key}: {g.Count()}"));
        var context = $"verdicts of {slow.Count} probes slower than 20 ms: [{histogram}]\n" +
            (lastError.Length > 0 ? $"last CLI problem: {lastError}\n" : "") + lab.LogTails();

        Assert.That(slow, Has.Count.GreaterThanOrEqualTo(MinimumSlowProbes),
            $"too few slow probes correlated for the {kind} fault; {context}");
        var matching = slow.Count(p => p.Verdict?.Kind == kind);
        Assert.That((double)matching / slow.Count, Is.GreaterThanOrEqualTo(RequiredShare),
            $"only {matching}/{slow.Count} slow probes were attributed to '{kind}'; {context}");
    }

    /// <summary>
    /// Polls the CLI until the slow probes of this scenario stop growing (the correlator finalises
    /// a probe ~1 s after its last observation) or a deadline passes.
    /// </summary>
    private static async Task<(List<ProbeRecord> Slow, string LastError)> PollSlowProbesAsync(
        LabEnvironment lab, long startNs, CancellationToken cancellationToken)
    {
        var deadline = TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(60);
        List<ProbeRecord> slow = [];
        var previous = -1;
        var lastError = "";
        while (true)
        {
            var result = await lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken,
                "probes", "--src", Source, "--dst", Destination, "--since", "2m",
                "--min-rtt", "20ms", "--limit", "1000", "--json");
            if (result.ExitCode == 0)
            {
                try
                {
                    var response = s_parser.Parse<ListProbesResponse>(result.StdOut);
                    slow = [.. response.Probes.Where(p => p.FirstTsNs >= startNs && p.RttNs > s_slowNs)];
                    lastError = "";
                }
                catch (Exception e) when (e is IOException or FormatException or InvalidOperationException)
                {
                    lastError = $"unparsable JSON from 'capture probes --json': {e.Message}\n{ProcessResult.Tail(result.StdOut, 10)}";
                }
            }
            else
            {
                lastError = $"'capture probes' failed: {result}";
            }

            if ((slow.Count >= MinimumSlowProbes && slow.Count == previous) || TimeProvider.System.GetUtcNow() > deadline)
            {
                return (slow, lastError);
            }

            previous = slow.Count;
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
        }
    }

    [GeneratedRegex(@"(\d+) (?:packets )?received")]
    private static partial Regex ReceivedRegex();
}
