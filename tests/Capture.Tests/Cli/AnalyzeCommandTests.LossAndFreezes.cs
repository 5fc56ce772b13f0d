using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Cli;

/// <summary>
/// The loss and freezes views on report 003's six capture points as report 000 saw them: three
/// times, 8 requests in a row vanish in the fabric after nc1's NIC, every 5 s; one more request
/// vanishes alone in vm_a's virtio hop.
/// </summary>
public partial class AnalyzeCommandTests
{
    private const int RunProbes = 150;
    private const long IntervalNs = 100_000_000;
    private const int FreezeEvery = 50;
    private const int FreezeLength = 8;
    private const int LoneLoss = 100;

    private static bool InFreeze(int probe) => probe % FreezeEvery is >= 20 and < 20 + FreezeLength;

    /// <summary>Point 2 is nc1's NIC: the request is lost in the fabric after it; point 0 is vm_a, before its vif.</summary>
    private static SyntheticPath Path000() => new(SyntheticPath.Report003Points, VmA, VmB)
    {
        HopDelayNs = static (probe, hop, _) => 25_000 + (probe * 7 + hop) % 9 * 1_000,
        RequestLostAfter = static probe => InFreeze(probe) ? 2 : probe == LoneLoss ? 0 : null,
    };

    private string[] Write(SyntheticPath path, long startNs)
    {
        var files = path.WritePcaps(_directory, RunProbes, startNs, IntervalNs, icmpId: 777);
        return [.. path.Points.Select((p, i) => $"{p.Node}:{p.Iface}:{p.Role}={files[i]}")];
    }

    [Test]
    public async Task Analyze_ThreeFreezesEvery5s_FreezesSeriesAndLossPlaces()
    {
        var report = await JsonAsync(Write(Path000(), StartNs));

        var freezes = report.Freezes;
        var lost = (ulong)(Enumerable.Range(0, RunProbes).Count(InFreeze) + 1);
        Assert.Multiple(() =>
        {
            Assert.That(freezes.Freezes.Select(f => (f.IcmpId, f.FirstSeq, f.LastSeq, f.Lost, f.Unseen, f.Segment, f.Leg, f.After)), Is.EqualTo(new[]
            {
                (777u, 21u, 28u, 8u, 0u, "fabric", "request", "nc1/eth0"),
                (777u, 71u, 78u, 8u, 0u, "fabric", "request", "nc1/eth0"),
                (777u, 121u, 128u, 8u, 0u, "fabric", "request", "nc1/eth0"),
            }));
            Assert.That(freezes.Freezes.Select(f => f.DurationNs), Is.All.EqualTo(FreezeLength * IntervalNs));
            Assert.That(freezes.Freezes.Select(f => (f.Ongoing, f.Silence)), Is.All.EqualTo((false, false)));
            var series = freezes.Series.Single();
            Assert.That((series.Freezes, series.Periodic, series.PeriodNs, series.SpreadNs, series.IntervalNs, series.MeanLost, series.Segment),
                Is.EqualTo((3u, true, FreezeEvery * IntervalNs, 0L, IntervalNs, 8.0, "fabric")));

            var path = report.Loss.Paths.Single();
            Assert.That((path.Src, path.Dst, path.Probes, path.Lost), Is.EqualTo(("192.168.47.111", "192.168.47.127", (ulong)RunProbes, lost)));
            Assert.That(path.Rate, Is.EqualTo((double)lost / RunProbes));
            Assert.That(path.Places.Select(p => (p.Segment, p.Leg, p.After, p.Lost)), Is.EqualTo(new[]
            {
                ("fabric", "request", "nc1/eth0", 24UL),
                ("vif", "request", "vm_a/eth0", 1UL),
            }));
            Assert.That(report.Lost.Matched, Is.EqualTo(lost), "the lost view counts the same probes");
        });
    }

    [Test]
    public async Task Analyze_MinLostAboveTheFreezeLength_NoFreezesSameLoss()
    {
        var specs = Write(Path000(), StartNs);

        var report = await JsonAsync([.. specs, "--min-lost", (FreezeLength + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.Multiple(() =>
        {
            Assert.That(report.Freezes.Freezes, Is.Empty);
            Assert.That(report.Freezes.Series, Is.Empty);
            Assert.That(report.Loss.Paths.Single().Lost, Is.EqualTo(25UL));
        });
    }

    [TestCase("0")]
    [TestCase("lots")]
    public async Task Analyze_BadMinLost_OneLineNamingTheOption(string value)
    {
        var (exit, _, stderr) = await RunAsync(["analyze", .. Write(Path000(), StartNs), "--min-lost", value]);

        Assert.Multiple(() =>
        {
            Assert.That(exit, Is.EqualTo(2));
            Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
            Assert.That(stderr, Does.Contain("--min-lost"));
        });
    }

    [Test]
    public async Task Analyze_HumanView_LossAndFreezesSections()
    {
        var (exit, stdout, stderr) = await RunAsync(["analyze", .. Write(Path000(), StartNs)]);

        Assert.That(exit, Is.Zero, stderr);
        Assert.Multiple(() =>
        {
            Assert.That(stdout, Does.Contain("\nloss\n").And.Contain("lost in").And.Contain("nc1/eth0").And.Contain("vm_a/eth0"));
            Assert.That(stdout, Does.Contain("\nfreezes\n").And.Contain("21→28").And.Contain("fabric (request leg)"));
            Assert.That(stdout, Does.Contain("id 777: 3 freezes, ~8 lost each, every 5.000 s ± 0.000 ms (periodic), in fabric"));
        });
    }

    [Test]
    public async Task Analyze_NothingLost_NoLossOrFreezesSection()
    {
        var clean = new SyntheticPath(SyntheticPath.Report003Points, VmA, VmB);

        var (exit, stdout, stderr) = await RunAsync(["analyze", .. Write(clean, StartNs)]);

        Assert.That(exit, Is.Zero, stderr);
        Assert.That(stdout, Does.Not.Contain("\nloss\n").And.Not.Contain("\nfreezes\n"));
    }

    [Test]
    public async Task AnalyzeLoad_IntoCorrelator_SameLossAndFreezesAsTheCorrelator()
    {
        // Arrange: captures of "now" so the correlator's windows take them in.
        var start = DateTimeOffset.UtcNow.AddSeconds(-40).ToUnixTimeMilliseconds() * 1_000_000;
        var specs = Write(Path000(), start);
        await using var correlator = await TestCorrelator.StartAsync();

        // Act
        var offline = await JsonAsync([.. specs, "--load", correlator.Address]);
        await TestCorrelator.EventuallyAsync(
            ct => correlator.Query.ListProbesAsync(new ListProbesRequest { Limit = 1000 }, cancellationToken: ct).ResponseAsync,
            r => r.Probes.Count == RunProbes,
            $"{RunProbes} loaded probes to be stored",
            TimeSpan.FromSeconds(30));
        var loss = await correlator.Query.ListLossAsync(new ListLossRequest()).ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10));
        var freezes = await correlator.Query.ListFreezesAsync(new ListFreezesRequest()).ResponseAsync.WaitAsync(TimeSpan.FromSeconds(10));

        // Assert: the same probes through the same builders, one fed by SQLite rows, one by records.
        // (The correlator also names the resolution it answered from; offline analysis has only raw probes.)
        // Nor has it host evidence: the correlator's cause hints (issue 15) are its own context.
        var resolutions = (loss.Resolution, freezes.Resolution);
        loss.Resolution = freezes.Resolution = "";
        var hinted = freezes.Freezes.All(static f => f.Hints.Count > 0);
        foreach (var freeze in freezes.Freezes)
        {
            freeze.Hints.Clear();
            freeze.Hosts.Clear();
        }

        Assert.Multiple(() =>
        {
            Assert.That(resolutions, Is.EqualTo(("raw", "raw")));
            Assert.That(hinted, Is.True, "every freeze the correlator lists carries its cause hints");
            Assert.That(offline.Load.Rejected, Is.Zero);
            Assert.That(offline.Freezes.Freezes, Has.Count.EqualTo(3), "a test that compares nothing proves nothing");
            Assert.That(freezes, Is.EqualTo(offline.Freezes));
            Assert.That(loss, Is.EqualTo(offline.Loss));
        });
    }
}
