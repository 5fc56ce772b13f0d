using System.Net;
using Google.Protobuf;
using HopCapture.Cli;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Integration;

/// <summary>
/// The whole pipeline minus libpcap's live side: pcap files written per capture point are
/// replayed by real agent processes through the real upload path into a real correlator on
/// loopback (SQLite file), and the CLI's --json answers are checked.
/// </summary>
[NonParallelizable]
public class ReplayPipelineTests
{
    private const int Probes = 60;
    private const long FabricDelayNs = 120_000_000;
    private static readonly IPAddress VmA = IPAddress.Parse("192.168.47.111");
    private static readonly IPAddress VmB = IPAddress.Parse("192.168.47.127");
    private string _directory = "";

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "hopcapture-replay-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static bool IsSlow(int probe) => probe % 10 == 3;

    private static bool IsLost(int probe) => probe == 45;

    [Test]
    public async Task Replay_Report003PathWithFabricBursts_CliShowsFabricVerdicts()
    {
        // Arrange: six captures of one ping run; every 10th reply waits 120 ms in the fabric
        // (between the two physical NICs), probe 45's request vanishes there.
        var path = new SyntheticPath(SyntheticPath.Report003Points, VmA, VmB)
        {
            HopDelayNs = static (probe, hop, request) => !request && hop == 2 && IsSlow(probe) ? FabricDelayNs : 25_000,
            RequestLostAfter = static probe => IsLost(probe) ? 2 : null,
        };
        var start = DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds() * 1_000_000;
        var files = path.WritePcaps(_directory, Probes, start, 20_000_000, icmpId: 21616);
        await using var correlator = await TestCorrelator.StartAsync(
            // The four agent processes start seconds apart on a loaded machine; a probe must not be
            // finalised before the last of them has uploaded its points.
            overrides: new Dictionary<string, string?> { ["Correlator:Engine:Settle"] = "00:00:05", ["Correlator:Engine:ProbeTimeout"] = "00:00:10" });

        // Act: one agent process per node, each replaying its interfaces' files.
        var agents = path.Points
            .Select((point, index) => (point, file: files[index]))
            .GroupBy(p => p.point.Node)
            .Select(node => RunAgentAsync(correlator.Address, node.Key, node.Select(p => (p.point.Iface, p.point.Role, p.file))))
            .ToArray();
        var results = await Task.WhenAll(agents);
        Assert.That(results.Select(r => r.ExitCode), Is.All.Zero, string.Join("\n", results.Select(r => r.ToString())));

        var probes = await TestCorrelator.EventuallyAsync(
            _ => CliJsonAsync<ListProbesResponse>(correlator.Address, "probes", "--limit", "1000", "--since", "1h"),
            r => r.Probes.Count == Probes,
            $"{Probes} probes to be correlated and stored",
            TimeSpan.FromSeconds(30));

        // Assert
        var slow = probes.Probes.Where(p => p.RttNs > 20_000_000).ToList();
        var lost = probes.Probes.Where(p => !p.Answered).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(slow, Has.Count.EqualTo(Enumerable.Range(0, Probes).Count(IsSlow)));
            Assert.That(slow.Select(p => p.Verdict.Kind), Is.All.EqualTo("fabric"));
            // Round-trip cost of the fabric: 120 ms on the reply leg plus 25 µs on the request leg.
            Assert.That(slow.Select(p => p.Verdict.CostNs / 1e6), Is.All.EqualTo(120.025).Within(0.001));
            Assert.That(slow.Select(p => p.Points.Count), Is.All.EqualTo(6));
            Assert.That(probes.Probes.SelectMany(p => p.Segments).Select(s => s.CostNs), Is.All.GreaterThanOrEqualTo(0));
            Assert.That(lost.Select(p => (p.Key.IcmpSeq, p.LostIn, p.LostLeg)), Is.EqualTo(new[] { (46u, "fabric", "request") }));
        });

        var worst = slow.OrderByDescending(p => p.RttNs).First();
        var explained = await CliJsonAsync<ProbeRecord>(correlator.Address, "explain", worst.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(explained.Segments.Select(s => s.Kind), Is.EqualTo(new[] { "vif", "nic", "fabric", "nic", "vif", "remote" }));

        var paths = await CliJsonAsync<ListPathsResponse>(correlator.Address, "paths", "--since", "1h");
        var summary = paths.Paths.Single();
        Assert.Multiple(() =>
        {
            Assert.That((summary.Src, summary.Dst), Is.EqualTo(("192.168.47.111", "192.168.47.127")));
            Assert.That(summary.Probes, Is.EqualTo((ulong)Probes));
            Assert.That(summary.Lost, Is.EqualTo(1UL));
            Assert.That(summary.DominantSegment, Is.EqualTo("fabric"));
        });
    }

    private Task<ProcessResult> RunAgentAsync(string correlator, string node, IEnumerable<(string Iface, string Role, string File)> interfaces)
    {
        var args = new List<string> { RepoPaths.Executable("Agent", "hopcapture-agent"), "--node", node, "--correlator", correlator };
        foreach (var (iface, role, file) in interfaces)
        {
            args.AddRange(["--iface", $"{iface}={role}", "--replay", $"{iface}={file}"]);
        }

        return ProcessRunner.RunAsync("dotnet", args, TimeSpan.FromSeconds(60), CancellationToken.None, _directory);
    }

    private static async Task<T> CliJsonAsync<T>(string correlator, params string[] command)
        where T : IMessage<T>, new()
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(["--correlator", correlator, "--json", .. command], stdout, stderr)
            .WaitAsync(TimeSpan.FromSeconds(30));
        Assert.That(exit, Is.Zero, $"capture {string.Join(' ', command)}: {stderr}");
        return new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true)).Parse<T>(stdout.ToString());
    }
}
