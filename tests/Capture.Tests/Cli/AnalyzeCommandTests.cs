using System.Net;
using Google.Protobuf;
using HopCapture.Cli;
using HopCapture.Engine.Model;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Cli;

/// <summary>
/// <c>capture analyze</c> on files written as tcpdump writes them: field report 003's six capture
/// points, every 10th reply held 120 ms in the fabric, one request lost there.
/// </summary>
[NonParallelizable]
public partial class AnalyzeCommandTests
{
    private const int Probes = 60;
    private const long FabricDelayNs = 120_000_000;
    private const long StartNs = 1_763_900_000_000_000_000;
    private static readonly IPAddress VmA = IPAddress.Parse("192.168.47.111");
    private static readonly IPAddress VmB = IPAddress.Parse("192.168.47.127");
    private string _directory = "";

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "hopcapture-analyze-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown() => Directory.Delete(_directory, recursive: true);

    private static bool IsSlow(int probe) => probe % 10 == 3;

    private static bool IsLost(int probe) => probe == 45;

    private static SyntheticPath Report003(IReadOnlyList<SyntheticPoint>? points = null) => new(points ?? SyntheticPath.Report003Points, VmA, VmB)
    {
        HopDelayNs = static (probe, hop, request) => !request && hop == 2 && IsSlow(probe) ? FabricDelayNs : 25_000,
        RequestLostAfter = static probe => IsLost(probe) ? 2 : null,
    };

    private static string[] Specs(SyntheticPath path, IReadOnlyList<string> files) =>
        [.. path.Points.Select((p, i) => $"{p.Node}:{p.Iface}:{p.Role}={files[i]}")];

    private static async Task<(int Exit, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(60));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static async Task<AnalyzeReport> JsonAsync(params string[] args)
    {
        var (exit, stdout, stderr) = await RunAsync(["--json", "analyze", .. args]);
        Assert.That(exit, Is.Zero, stderr);
        return new JsonParser(JsonParser.Settings.Default).Parse<AnalyzeReport>(stdout);
    }

    private static void AssertReport003(AnalyzeReport report)
    {
        var path = report.Paths.Paths.Single();
        var slowCount = Enumerable.Range(0, Probes).Count(IsSlow);
        Assert.Multiple(() =>
        {
            Assert.That((path.Src, path.Dst), Is.EqualTo(("192.168.47.111", "192.168.47.127")));
            Assert.That(path.Probes, Is.EqualTo((ulong)Probes));
            Assert.That(path.Lost, Is.EqualTo(1UL));
            Assert.That(path.DominantSegment, Is.EqualTo("fabric"));
            Assert.That(report.Slow.Matched, Is.EqualTo((ulong)slowCount));
            Assert.That(report.Slow.Probes.Select(p => p.Verdict.Kind), Is.All.EqualTo("fabric"));
            Assert.That(report.Slow.Probes.Select(p => p.Verdict.CostNs / 1e6), Is.All.EqualTo(120.025).Within(0.001));
            Assert.That(report.Slow.Probes.Select(p => p.Points.Count), Is.All.EqualTo(6));
            Assert.That(report.Lost.Probes.Select(p => (p.Key.IcmpSeq, p.LostIn, p.LostLeg)), Is.EqualTo(new[] { (46u, "fabric", "request") }));
        });
    }

    [Test]
    public async Task Analyze_Report003Files_FabricVerdictsLossAndExplain()
    {
        var path = Report003();
        var files = path.WritePcaps(_directory, Probes, StartNs, 20_000_000);

        var report = await JsonAsync([.. Specs(path, files), "--min-rtt", "20ms", "--explain", "14"]);

        AssertReport003(report);
        var explained = report.Explained.Single();
        Assert.Multiple(() =>
        {
            Assert.That(explained.Key.IcmpSeq, Is.EqualTo(14u));
            Assert.That(explained.Segments.Select(s => s.Kind), Is.EqualTo(new[] { "vif", "nic", "fabric", "nic", "vif", "remote" }));
            Assert.That(explained.Points.Select(p => p.Node), Is.EqualTo(new[] { "vm_a", "nc1", "nc1", "nc2", "nc2", "vm_b" }));
            Assert.That(report.Files.Select(f => f.Echoes), Is.All.GreaterThan(0UL));
        });
    }

    [Test]
    public async Task Analyze_Report003Files_HumanViewShowsPathsSlowProbesAndExplain()
    {
        var path = Report003();
        var files = path.WritePcaps(_directory, Probes, StartNs, 20_000_000);

        var (exit, stdout, stderr) = await RunAsync(["analyze", .. Specs(path, files), "--min-rtt", "20ms", "--explain-id", "1"]);

        Assert.That(exit, Is.Zero, stderr);
        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain("192.168.47.111 → 192.168.47.127").And.Contain("fabric"));
            Assert.That(stdout, Does.Contain("slowest probes (round trip ≥ 20"));
            Assert.That(stdout, Does.Contain("lost probes").And.Contain("fabric (request)"));
            Assert.That(stdout, Does.Contain("probe 1: 192.168.47.111 → 192.168.47.127"));
            Assert.That(stdout, Does.Contain("6 of 6 matching"));
        });
    }

    private static IEnumerable<TestCaseData> Variants()
    {
        yield return new TestCaseData((int)PcapFormat.Microsecond, 1, (ushort)0, 262_144, false).SetName("Analyze_MicrosecondPcap_SameVerdicts");
        yield return new TestCaseData((int)PcapFormat.Nanosecond, 113, (ushort)0, 262_144, true).SetName("Analyze_LinuxSllWithDirection_SameVerdicts");
        yield return new TestCaseData((int)PcapFormat.Nanosecond, 276, (ushort)0, 262_144, true).SetName("Analyze_LinuxSll2WithDirection_SameVerdicts");
        yield return new TestCaseData((int)PcapFormat.Nanosecond, 1, (ushort)42, 262_144, false).SetName("Analyze_VlanTagged_SameVerdicts");
        yield return new TestCaseData((int)PcapFormat.Nanosecond, 1, (ushort)0, 64, false).SetName("Analyze_Snaplen64CutsPayload_SameVerdicts");
        yield return new TestCaseData((int)PcapFormat.Pcapng, 1, (ushort)7, 96, true).SetName("Analyze_PcapngWithEpbFlags_SameVerdicts");
    }

    [TestCaseSource(nameof(Variants))]
    public async Task Analyze_InputVariant(int format, int linkType, ushort vlan, int snaplen, bool directions)
    {
        var path = new SyntheticPath(directions ? SyntheticPath.Report003PointsWithDirection : SyntheticPath.Report003Points, VmA, VmB)
        {
            HopDelayNs = static (probe, hop, request) => !request && hop == 2 && IsSlow(probe) ? FabricDelayNs : 25_000,
            RequestLostAfter = static probe => IsLost(probe) ? 2 : null,
            Format = (PcapFormat)format,
            LinkType = linkType,
            Vlan = vlan,
            Snaplen = snaplen,
        };
        var files = path.WritePcaps(_directory, Probes, StartNs, 20_000_000);

        var report = await JsonAsync([.. Specs(path, files), "--min-rtt", "20ms"]);

        AssertReport003(report);
        var directionsSeen = report.Slow.Probes.SelectMany(p => p.Points).Select(p => p.RequestDirection).Distinct().ToArray();
        Assert.That(directionsSeen, directions
            ? Is.EquivalentTo(new[] { Direction.In, Direction.Out })
            : Is.EqualTo(new[] { Direction.Unspecified }));
    }

    [Test]
    public async Task Analyze_PcapngWithSeveralNamedInterfaces_UsesTheirNames()
    {
        // One hypervisor's tcpdump -i any style pcapng: both of nc1's points in one file.
        var path = Report003();
        var files = path.WritePcaps(_directory, Probes, StartNs, 20_000_000);
        var combined = Path.Combine(_directory, "nc1.pcapng");
        using (var builder = new PcapFileBuilder(combined, format: PcapFormat.Pcapng))
        {
            var tap = builder.AddInterface("023471");
            var eth = builder.AddInterface("eth0");
            foreach (var (file, iface) in new[] { (files[1], tap), (files[2], eth) })
            {
                using var reader = HopCapture.Packets.Files.CaptureFileReader.Open(file);
                while (reader.TryReadNext(out var echo))
                {
                    var src = IpAddress128.ToIPAddress(echo.Echo.Src);
                    var dst = IpAddress128.ToIPAddress(echo.Echo.Dst);
                    var request = echo.Echo.Type == HopCapture.Engine.Model.EchoType.Request;
                    var k = echo.Echo.Seq - 1;
                    builder.AddEcho(echo.TimestampNs, src, dst, request, echo.Echo.Id, echo.Echo.Seq, (ulong)k * 0x9E3779B97F4A7C15UL, iface: iface);
                }
            }
        }

        // Tagged by node and role only: the interface names come from the pcapng file. (One role
        // per file: nc1's tap is tagged "nic" here too, which the round-trip order still places.)
        var report = await JsonAsync(
            $"vm_a:eth0:guest={files[0]}", $"nc1:nic={combined}",
            $"nc2:eth0:nic={files[3]}", $"nc2:061606:vif={files[4]}", $"vm_b:eth0:guest={files[5]}");

        Assert.Multiple(() =>
        {
            Assert.That(report.Files[1].Interfaces, Is.EqualTo(new[] { "023471", "eth0" }));
            Assert.That(report.Paths.Paths.Single().Probes, Is.EqualTo((ulong)Probes));
            Assert.That(report.Slow.Probes[0].Points.Where(p => p.Node == "nc1").Select(p => p.Point), Is.EquivalentTo(new[] { "023471", "eth0" }));
        });
    }

    [Test]
    public async Task Analyze_FileCutMidRecord_ReportsItAndKeepsWhatCameBefore()
    {
        var path = Report003();
        var files = path.WritePcaps(_directory, Probes, StartNs, 20_000_000);
        PcapFileBuilder.Truncate(files[5], 30); // vm_b's last reply is cut in half

        var (exit, stdout, stderr) = await RunAsync(["--json", "analyze", .. Specs(path, files)]);

        Assert.That(exit, Is.Zero, stderr);
        var report = new JsonParser(JsonParser.Settings.Default).Parse<AnalyzeReport>(stdout);
        var cut = report.Files[5];
        Assert.Multiple(() =>
        {
            Assert.That(stderr, Does.Contain("warning").And.Contain("truncated").And.Contain(files[5]));
            Assert.That(cut.FileTruncated, Is.True);
            Assert.That(cut.Echoes, Is.EqualTo((ulong)((2 * (Probes - 1)) - 1)));
            Assert.That(report.Paths.Paths.Single().Probes, Is.EqualTo((ulong)Probes));
        });
    }

    [Test]
    public async Task Analyze_Json_RoundTripsThroughTheProtoParser()
    {
        var path = Report003();
        var files = path.WritePcaps(_directory, Probes, StartNs, 20_000_000);
        var (_, stdout, _) = await RunAsync(["--json", "analyze", .. Specs(path, files), "--explain", "4"]);

        var parsed = new JsonParser(JsonParser.Settings.Default).Parse<AnalyzeReport>(stdout);

        Assert.That(HopCapture.Cli.Rendering.JsonOutput.Format(parsed), Is.EqualTo(stdout.TrimEnd()));
        Assert.That(parsed.Explained.Single().Verdict.Kind, Is.EqualTo("fabric"));
    }

    [TestCase("nc1:eno1=x.pcap", "has 2 parts", ExpectedResult = 2)]
    [TestCase("nc1:eno1:router=x.pcap", "'router' is not a role", ExpectedResult = 2)]
    [TestCase("justafile.pcap", "is not a tagged file", ExpectedResult = 2)]
    public async Task<int> Analyze_BadSpec_OneLineUsageError(string spec, string message)
    {
        var (exit, _, stderr) = await RunAsync("analyze", spec);
        Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.Contain(message).Or.Contain("is not a role"));
        return exit;
    }

    [Test]
    public async Task Analyze_MissingFile_OneLineNamingIt()
    {
        var missing = Path.Combine(_directory, "nope.pcap");
        var (exit, _, stderr) = await RunAsync("analyze", $"hv1:eno1:nic={missing}");
        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(stderr.Trim(), Does.Contain(missing).And.Contain("does not exist"));
        });
    }

    [Test]
    public async Task AnalyzeLoad_NodeNotAllowed_ExitsOneNamingTheNodeAndNotRetried()
    {
        var path = Report003();
        var start = DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds() * 1_000_000;
        var files = path.WritePcaps(_directory, Probes, start, 20_000_000);
        await using var correlator = await TestCorrelator.StartAsync(overrides: new Dictionary<string, string?> { ["Correlator:AllowedNodes:0"] = "nobody" });

        var (exit, stdout, stderr) = await RunAsync(["analyze", .. Specs(path, files), "--load", correlator.Address]);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(1));
            Assert.That(stderr, Does.Match($@"^capture: the correlator at {correlator.Address} refused the load: PermissionDenied: node '[^']+' is not in Correlator:AllowedNodes\n$"));
            Assert.That(stdout, Is.Empty);
        });
    }

    [Test]
    public async Task AnalyzeLoad_NothingListening_ExitsThreeAfterTheRetries()
    {
        var path = Report003();
        var files = path.WritePcaps(_directory, 5, StartNs, 20_000_000);

        var (exit, _, stderr) = await RunAsync(["analyze", .. Specs(path, files), "--load", "http://127.0.0.1:1"]);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(3));
            Assert.That(stderr, Is.EqualTo("capture: cannot reach the correlator at http://127.0.0.1:1 (connection refused). Is it running? Use --load.\n"));
        });
    }

    [Test]
    public async Task AnalyzeLoad_IntoCorrelator_SameRecordsAsOffline()
    {
        // Arrange: captures of "now" so the correlator's windows take them in.
        var path = Report003();
        var start = DateTimeOffset.UtcNow.AddSeconds(-30).ToUnixTimeMilliseconds() * 1_000_000;
        var files = path.WritePcaps(_directory, Probes, start, 20_000_000);
        await using var correlator = await TestCorrelator.StartAsync();

        // Act
        var offline = await JsonAsync([.. Specs(path, files), "--load", correlator.Address, "--limit", "1000"]);
        var live = await TestCorrelator.EventuallyAsync(
            ct => correlator.Query.ListProbesAsync(new ListProbesRequest { Limit = 1000, Order = "rtt" }, cancellationToken: ct).ResponseAsync,
            r => r.Probes.Count == Probes,
            $"{Probes} loaded probes to be stored",
            TimeSpan.FromSeconds(30));

        // Assert: the same engine made the same records (ids are the store's; analyze numbers its own).
        Assert.Multiple(() =>
        {
            Assert.That(offline.Load.Accepted, Is.EqualTo((ulong)files.Sum(f => HopCapture.Packets.Files.CaptureFileReader.ReadObservations(f, 0).Observations.Count)));
            Assert.That(offline.Load.Rejected, Is.Zero);
            Assert.That(live.Probes.Select(p => p.Imported), Is.All.True);
        });
        var liveByKey = live.Probes.ToDictionary(p => p.Key.IcmpSeq, Strip);
        foreach (var record in offline.Slow.Probes.Concat(offline.Lost.Probes))
        {
            Assert.That(liveByKey[record.Key.IcmpSeq], Is.EqualTo(Strip(record)), $"seq {record.Key.IcmpSeq}");
        }

        var livePaths = await correlator.Query.ListPathsAsync(new ListPathsRequest()).ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10));
        var expected = offline.Paths.Paths.Single().Clone();
        var actual = livePaths.Paths.Single().Clone();
        expected.WorstProbeId = actual.WorstProbeId = 0;
        Assert.That(actual, Is.EqualTo(expected));
    }

    private static ProbeRecord Strip(ProbeRecord record)
    {
        var copy = record.Clone();
        copy.Id = 0;
        copy.Imported = false;
        copy.ArrivalNs = 0; // the correlator's clock when it took the load, capture time offline

        return copy;
    }
}
