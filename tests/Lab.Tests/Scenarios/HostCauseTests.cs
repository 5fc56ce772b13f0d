using System.Globalization;
using System.Text.RegularExpressions;
using Google.Protobuf;
using HopCapture.Lab.Tests.Infrastructure;
using HopCapture.Protos;

namespace HopCapture.Lab.Tests.Scenarios;

/// <summary>
/// Issue 15 in the lab, real kernel state: why a freeze happened, from the host evidence the
/// agents sampled. A VM's tap flapping behind kernel STP (forward delay 2 s) freezes the path for
/// the dark time plus listening and learning, blamed on STP with the port's state timeline; the
/// same flap without STP is a short freeze blamed on the link flap only; a tap queue too short for
/// a burst is named with its drops; a congested switch leaves the hosts clean and the hint says so.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed partial class HostCauseTests
{
    private const string Source = "10.77.0.11";
    private const string Destination = "10.77.0.12";
    private const int ForwardDelaySeconds = 2;
    private static readonly JsonParser s_parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private LabEnvironment? _lab;

    private LabEnvironment Lab => _lab ?? throw new InvalidOperationException("the lab fixture did not start");

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
    [CancelAfter(120_000)]
    public async Task TapFlap_StpOn_FreezeOfTwiceTheForwardDelayWithStpHint(CancellationToken cancellationToken)
    {
        await Lab.LabAsync(TimeSpan.FromSeconds(30), cancellationToken, "stp", "on", ForwardDelaySeconds.ToString(CultureInfo.InvariantCulture));
        try
        {
            var (freeze, dark) = await FlapAsync(1, 14, "stp", cancellationToken);
            var stp = freeze.Hints.First(h => h.Cause == "stp");
            var states = stp.Evidence.Where(e => e.Kind == "port_state").Select(e => e.Value).ToList();
            var context = $"freeze: {freeze}\n{Lab.LogTails()}";
            Assert.Multiple(() =>
            {
                // Dark time, then listening and learning: one forward delay each.
                Assert.That(freeze.DurationNs / 1e9, Is.EqualTo(dark + (2 * ForwardDelaySeconds)).Within(1.2), context);
                Assert.That(freeze.Segment, Is.EqualTo("nic"), context);
                Assert.That(freeze.After, Is.EqualTo("hv1/tap100i0"), context);
                Assert.That((stp.Node, stp.Device), Is.EqualTo(("hv1", "tap100i0")), context);
                Assert.That(states, Is.SupersetOf(new[] { "disabled", "listening", "learning", "forwarding" }), context);
                Assert.That(stp.Summary, Does.Contain("listening + learning"), context);
                Assert.That(stp.Fix, Does.Contain("bridge-stp off").And.Contain("bridge-fd 0"), context);
                Assert.That(freeze.Hints[0].Cause, Is.EqualTo("stp"), "STP comes first: it explains the length");
            });

            // Seed 000's loop closed: the fix (STP off), then the check against the freeze.
            await Lab.LabAsync(TimeSpan.FromSeconds(30), cancellationToken, "stp", "off");
            var trace = await Lab.CliAsync(TimeSpan.FromSeconds(60), cancellationToken, "trace", "--from", "vm1", "--to", "vm2",
                "--count", "20", "--interval", "50ms", "--against", $"{freeze.IcmpId}/{freeze.FirstSeq}", "--json");
            Assert.That(trace.ExitCode, Is.Zero, $"{trace}\n{Lab.LogTails()}");
            var comparison = s_parser.Parse<TraceAgainstFreeze>(trace.StdOut);
            Assert.Multiple(() =>
            {
                Assert.That(comparison.Before.Hints.Select(h => h.Cause), Does.Contain("stp"), trace.StdOut);
                Assert.That((comparison.After.Sent, comparison.After.Lost, comparison.After.Passed), Is.EqualTo((20u, 0u, true)), trace.StdOut);
            });
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Lab.LabAsync(TimeSpan.FromSeconds(30), cleanup.Token, "stp", "off");
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task TapFlap_StpOff_ShortFreezeWithLinkFlapHintAndNoStpHint(CancellationToken cancellationToken)
    {
        var (freeze, dark) = await FlapAsync(2, 8, "link_flap", cancellationToken);
        var flap = freeze.Hints.First(h => h.Cause == "link_flap");
        var context = $"freeze: {freeze}\n{Lab.LogTails()}";
        Assert.Multiple(() =>
        {
            Assert.That(freeze.DurationNs / 1e9, Is.EqualTo(dark).Within(0.5), context);
            Assert.That(freeze.Hints.Select(h => h.Cause), Has.None.EqualTo("stp"), context);
            Assert.That((flap.Node, flap.Device), Is.EqualTo(("hv1", "tap100i0")), context);
            Assert.That(flap.Evidence.Select(e => e.Name), Does.Contain("carrier_changes"), context);
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task QueueOverflow_TinyTapQueueUnderBurst_LostProbeNamesTheTapsQdiscDrops(CancellationToken cancellationToken)
    {
        var startNs = NowNs();
        await PingDuringAsync(["qlimit", "on"], ["qlimit", "off"], 60, cancellationToken);

        ProbeRecord explained = new();
        await PollAsync("a lost probe with a queue_overflow hint", async () =>
        {
            var lost = (await LostAsync(startNs, cancellationToken)).FirstOrDefault(p => p.LostIn == "nic" && p.LostLeg == "reply");
            explained = lost is null ? new ProbeRecord() : await ExplainAsync(lost.Id, cancellationToken);
            return explained.Hints.Any(h => h.Cause == "queue_overflow");
        }, cancellationToken);

        var hint = explained.Hints.First(h => h.Cause == "queue_overflow");
        var context = $"probe: {explained}\n{Lab.LogTails()}";
        Assert.Multiple(() =>
        {
            Assert.That((hint.Node, hint.Device), Is.EqualTo(("hv1", "tap100i0")), context);
            Assert.That(hint.Evidence.Where(e => e.Name == "qdisc_drops").Sum(e => e.Delta), Is.GreaterThan(0), context);
            Assert.That(explained.LostAfter, Is.EqualTo("hv1/eno1"), context);
        });
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FabricCongestion_HostsClean_NoHostCauseClaimed(CancellationToken cancellationToken)
    {
        var startNs = NowNs();
        await PingDuringAsync(["fault", "fabric"], ["fault", "clear"], 100, cancellationToken);

        // Evidence travels with heartbeats (every 5 s): only after two of them is "nothing
        // changed" an answer rather than "not arrived yet". Fail at once if a cause shows up.
        var pingEndNs = NowNs();
        var lost = new List<ProbeRecord>();
        var explained = new List<ProbeRecord>();
        await PollAsync("lost probes in the fabric, explained after two heartbeats", async () =>
        {
            lost = [.. (await LostAsync(startNs, cancellationToken)).Where(p => p.LostIn == "fabric").Take(3)];
            explained = [];
            foreach (var probe in lost)
            {
                explained.Add(await ExplainAsync(probe.Id, cancellationToken));
            }

            var claimed = explained.SelectMany(p => p.Hints).Where(h => h.Cause != "none").ToList();
            Assert.That(claimed, Is.Empty, $"a host cause was claimed for fabric congestion: {string.Join("\n", claimed)}");
            return lost.Count > 0 && NowNs() - pingEndNs > 11_000_000_000L;
        }, cancellationToken);

        var hints = explained.SelectMany(p => p.Hints).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(hints.Select(h => h.Cause), Is.All.EqualTo("none"));
            Assert.That(hints.Select(h => h.Summary), Is.All.Contains("look at the switches").And.All.Contains("hv1").And.All.Contains("hv2"));
        });
    }

    /// <summary>vm1 pings vm2 while its tap flaps once; the freeze with a hint of <paramref name="cause"/>, and how long the tap was dark.</summary>
    private async Task<(FreezeInfo Freeze, double DarkSeconds)> FlapAsync(int downSeconds, int pingSeconds, string cause, CancellationToken cancellationToken)
    {
        var startNs = NowNs();
        var ping = PingAsync(pingSeconds * 10, 0.1, cancellationToken);
        await PollAsync("answered probes before the flap", async () =>
        {
            var result = await Lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "probes", "--src", Source, "--dst", Destination, "--since", "1m", "--limit", "100", "--json");
            return result.ExitCode == 0 && s_parser.Parse<ListProbesResponse>(result.StdOut).Probes.Count(p => p.Answered && p.FirstTsNs >= startNs) >= 10;
        }, cancellationToken);
        var flap = await Lab.LabAsync(TimeSpan.FromSeconds(30), cancellationToken, "flap-tap", "1",
            downSeconds.ToString(CultureInfo.InvariantCulture), (downSeconds + 1).ToString(CultureInfo.InvariantCulture));
        await ping;
        var match = FlapRegex().Match(flap.StdOut);
        Assert.That(match.Success, Is.True, $"flap output: {flap}");
        var dark = double.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) - double.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);

        var freezes = new List<FreezeInfo>();
        await PollAsync($"a freeze with a {cause} hint", async () =>
        {
            var since = DateTimeOffset.FromUnixTimeMilliseconds(startNs / 1_000_000).ToString("O", CultureInfo.InvariantCulture);
            var result = await Lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "freezes", "--src", Source, "--dst", Destination, "--since", since, "--json");
            freezes = result.ExitCode == 0 ? [.. s_parser.Parse<ListFreezesResponse>(result.StdOut).Freezes.Where(f => !f.Silence && !f.Ongoing)] : [];
            return freezes.Any(f => f.Hints.Any(h => h.Cause == cause));
        }, cancellationToken);
        Assert.That(freezes, Has.Count.EqualTo(1), $"one flap, one freeze: {string.Join("\n", freezes)}");
        return (freezes[0], dark);
    }

    /// <summary>vm1 pings vm2; probes as large as the bulk flow's packets (1200 B) are dropped by a full queue as often as they are.</summary>
    private static Task<ProcessResult> PingAsync(int count, double interval, CancellationToken cancellationToken, int size = 56) =>
        LabEnvironment.InNamespaceAsync("hc-vm1", TimeSpan.FromSeconds(60), cancellationToken, "ping", "-q", "-s", size.ToString(CultureInfo.InvariantCulture),
            "-i", interval.ToString(CultureInfo.InvariantCulture), "-c", count.ToString(CultureInfo.InvariantCulture), "-W", "1", Destination);

    private async Task<List<ProbeRecord>> LostAsync(long startNs, CancellationToken cancellationToken)
    {
        var result = await Lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "probes", "--src", Source, "--dst", Destination, "--since", "2m", "--lost", "--limit", "200", "--json");
        return result.ExitCode == 0 ? [.. s_parser.Parse<ListProbesResponse>(result.StdOut).Probes.Where(p => p.FirstTsNs >= startNs)] : [];
    }

    private async Task<ProbeRecord> ExplainAsync(long id, CancellationToken cancellationToken)
    {
        var result = await Lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "explain", id.ToString(CultureInfo.InvariantCulture), "--json");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return s_parser.Parse<ProbeRecord>(result.StdOut);
    }

    private Task PollAsync(string what, Func<Task<bool>> done, CancellationToken cancellationToken) =>
        Lab.PollAsync(what, done, TimeSpan.FromSeconds(45), cancellationToken);

    /// <summary>vm1 pings vm2 with 1200-byte probes while a fault is on (<c>build/lab.sh ON…</c>), then turns it off.</summary>
    private async Task PingDuringAsync(string[] on, string[] off, int count, CancellationToken cancellationToken)
    {
        await Lab.LabAsync(TimeSpan.FromSeconds(60), cancellationToken, on);
        try
        {
            await PingAsync(count, 0.05, cancellationToken, size: 1200);
        }
        finally
        {
            using var cleanup = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await Lab.LabAsync(TimeSpan.FromSeconds(30), cleanup.Token, off);
        }
    }

    private static long NowNs() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000L;

    [GeneratedRegex(@"flap \d+ down ([0-9.]+) up ([0-9.]+)")]
    private static partial Regex FlapRegex();
}
