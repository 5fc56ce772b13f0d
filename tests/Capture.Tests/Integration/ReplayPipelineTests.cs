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

    // Replaying agents start as separate processes and can be seconds apart on a loaded 2-core
    // machine: the first probes must wait for the slowest one. Once every point of the path has
    // been seen, complete probes no longer wait.
    private static readonly Dictionary<string, string?> ReplayTimings = new()
    {
        ["Correlator:Engine:Settle"] = "00:00:05",
        ["Correlator:Engine:ProbeTimeout"] = "00:00:10",
    };

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
            overrides: ReplayTimings);

        // Act: one agent process per node, each replaying its interfaces' files.
        await ReplayAllAsync(correlator.Address, path, files);

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

    private static bool InFreeze(int probe) => probe % 100 is >= 50 and < 70;

    [Test]
    public async Task Replay_ShiftedAndSteppedClocksWithRecurringFreezes_LegsLossAndPeriodicFreezes()
    {
        // Arrange: nc2's clock is 500 ms ahead, vm_b's steps back 5 ms halfway; every 10th reply
        // waits 120 ms in the fabric; three times, 20 requests in a row vanish in vm_a's virtio hop.
        var points = SyntheticPath.Report003Points.Select(p => p.Node == "nc2" ? p with { ClockOffsetNs = 500_000_000 } : p).ToList();
        var path = new SyntheticPath(points, VmA, VmB)
        {
            HopDelayNs = static (probe, hop, request) => !request && hop == 2 && IsSlow(probe) ? FabricDelayNs : 25_000 + (probe * 7 + hop) % 9 * 1_000,
            RequestLostAfter = static probe => InFreeze(probe) ? 0 : null,
            ClockStepNs = static (probe, node) => node == "vm_b" && probe >= 150 ? -5_000_000 : 0,
        };
        const int probes = 300;
        var start = DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds() * 1_000_000;
        var files = path.WritePcaps(_directory, probes, start, 20_000_000, icmpId: 777);
        var database = Path.Combine(_directory, "freezes.db");
        await using var correlator = await TestCorrelator.StartAsync(
            database, overrides: ReplayTimings);

        // Act
        await ReplayAllAsync(correlator.Address, path, files);
        await TestCorrelator.EventuallyAsync(
            _ => CliJsonAsync<ListProbesResponse>(correlator.Address, "probes", "--limit", "1000", "--since", "1h"),
            r => r.Probes.Count == probes,
            $"{probes} probes to be correlated and stored",
            TimeSpan.FromSeconds(30));

        var slow = await CliJsonAsync<ListProbesResponse>(correlator.Address, "probes", "--limit", "1000", "--since", "1h", "--min-rtt", "20ms");
        var freezes = await CliJsonAsync<ListFreezesResponse>(correlator.Address, "freezes", "--since", "1h");
        var loss = await CliJsonAsync<ListLossResponse>(correlator.Address, "loss", "--since", "1h");
        var agentsView = await CliJsonAsync<ListAgentsResponse>(correlator.Address, "agents");

        // Freezes come from the stored probes: a restarted correlator reports the very same ones.
        await correlator.StopAsync();
        await using var restarted = await TestCorrelator.StartAsync(database);
        var afterRestart = await CliJsonAsync<ListFreezesResponse>(restarted.Address, "freezes", "--since", "1h");

        // Assert: the offsets never change a cost or a leg; the first slow probes may come before the estimate.
        var settled = slow.Probes.Where(p => p.Key.IcmpSeq > 20).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(settled, Has.Count.EqualTo(Enumerable.Range(20, probes - 20).Count(k => IsSlow(k) && !InFreeze(k))));
            Assert.That(settled.Select(p => p.Verdict.Text), Is.All.Match(@"^fabric, reply leg, 120\.0\d ms ± 0\.0\d+ ms$"));
            Assert.That(settled.Select(p => p.Segments[p.Verdict.Segment].ReplyNs / 1e6), Is.All.EqualTo(120.0).Within(0.03));
            Assert.That(slow.Probes.SelectMany(p => p.Segments).Select(s => Math.Min(s.RequestNs, s.ReplyNs)), Is.All.GreaterThanOrEqualTo(0));

            Assert.That(freezes.Freezes.Select(f => (f.FirstSeq, f.LastSeq, f.Lost, f.Segment, f.Leg, f.After)), Is.EqualTo(new[]
            {
                (51u, 70u, 20u, "vif", "request", "vm_a/eth0"),
                (151u, 170u, 20u, "vif", "request", "vm_a/eth0"),
                (251u, 270u, 20u, "vif", "request", "vm_a/eth0"),
            }));
            Assert.That(afterRestart, Is.EqualTo(freezes), "freezes after a correlator restart");
            var series = freezes.Series.Single();
            Assert.That((series.Periodic, series.PeriodNs / 1e6, series.Segment), Is.EqualTo((true, 2000.0, "vif")));

            var path = loss.Paths.Single();
            Assert.That((path.Probes, path.Lost), Is.EqualTo((300UL, 60UL)));
            Assert.That(path.Places.Select(p => (p.Segment, p.Leg, p.After, p.Lost)), Is.EqualTo(new[] { ("vif", "request", "vm_a/eth0", 60UL) }));

            var vmB = agentsView.Offsets.Single(o => o.FarNode == "vm_b");
            Assert.That((vmB.Steps, vmB.LastStepNs / 1e6), Is.EqualTo((1u, -5.0)).Using<(uint, double)>((a, b) => a.Item1 == b.Item1 && Math.Abs(a.Item2 - b.Item2) < 0.05));
            Assert.That(agentsView.Offsets.Single(o => o.NearNode == "nc1" && o.FarNode == "nc2").OffsetNs / 1e6, Is.EqualTo(500.0).Within(0.05));
        });
    }

    /// <summary>One agent process per node, each replaying its interfaces' files; all must succeed.</summary>
    private async Task ReplayAllAsync(string correlator, SyntheticPath path, IReadOnlyList<string> files)
    {
        var agents = path.Points
            .Select((point, index) => (point, file: files[index]))
            .GroupBy(p => p.point.Node)
            .Select(node => RunAgentAsync(correlator, node.Key, node.Select(p => (p.point.Iface, p.point.Role, p.file))))
            .ToArray();
        var results = await Task.WhenAll(agents).WaitAsync(TimeSpan.FromSeconds(90));
        Assert.That(results.Select(r => r.ExitCode), Is.All.Zero, string.Join("\n", results.Select(r => r.ToString())));
    }

    private Task<ProcessResult> RunAgentAsync(string correlator, string node, IEnumerable<(string Iface, string Role, string File)> interfaces)
    {
        var args = new List<string>
        {
            RepoPaths.Executable("Agent", "hopcapture-agent"), "--node", node, "--correlator", correlator, "--state-dir", Path.Combine(_directory, "state-" + node),
        };
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
