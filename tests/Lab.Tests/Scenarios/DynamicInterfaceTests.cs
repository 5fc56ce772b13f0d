using System.Diagnostics;
using Google.Protobuf;
using HopCapture.Lab.Tests.Infrastructure;
using HopCapture.Protos;

namespace HopCapture.Lab.Tests.Scenarios;

/// <summary>
/// Interfaces that appear and vanish while the agents run (issue 10): the hv agents are started
/// with tap300i0 configured but absent (waited for); VM 3 is created on hv1, live-migrated to hv2
/// (its tap deleted on hv1 and re-created on hv2) and deleted, with the pipeline running. The
/// tests run in order and share the VM.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DynamicInterfaceTests
{
    private const string Vm3 = "10.77.0.13";
    private const string Vm2 = "10.77.0.12";
    private const string Tap = "tap300i0";

    /// <summary>From `vm add` to the first echo captured on the new tap: measured 0.7-1.3 s (1 s poll + opening), README "The lab".</summary>
    private static readonly TimeSpan s_pickUp = TimeSpan.FromSeconds(5);

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

    private LabEnvironment Lab => _lab ?? throw new InvalidOperationException("the lab fixture did not start");

    [Test]
    [Order(1)]
    [CancelAfter(120_000)]
    public async Task VmAdded_WhileAgentsRun_ProbesPassHv1Tap300WithinFiveSeconds(CancellationToken cancellationToken)
    {
        var waiting = await TapAsync("hv1", cancellationToken);
        Assert.That(waiting.State, Is.EqualTo("waiting"), "tap300i0 is configured on hv1 but does not exist yet");

        var startNs = NowNs();
        var watch = Stopwatch.StartNew();
        await Lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "vm", "add", "3", "hv1");
        var added = watch.Elapsed;

        var probe = await PingUntilProbeAsync("hv1", startNs, cancellationToken);
        var visible = watch.Elapsed;
        var pickUp = TimeSpan.FromTicks((FirstAt(probe, "hv1") - startNs) / 100);
        TestContext.Out.WriteLine($"vm add took {added.TotalSeconds:0.0} s; first echo captured on hv1/{Tap} {pickUp.TotalSeconds:0.0} s after vm add began; probe listed after {visible.TotalSeconds:0.0} s");

        var tap = await TapAsync("hv1", cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(pickUp, Is.LessThan(s_pickUp), Lab.LogTails());
            Assert.That(tap.State, Is.EqualTo("capturing"));
        });
    }

    [Test]
    [Order(2)]
    [CancelAfter(120_000)]
    public async Task VmMigrated_TapDeletedOnHv1_Hv1AgentKeepsRunningAndReportsTheTapGone(CancellationToken cancellationToken)
    {
        var before = (await AgentAsync("hv1", cancellationToken)).Observations;

        await Lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "vm", "move", "3", "hv2");
        var gone = await EventuallyAsync(
            async () => await TapAsync("hv1", cancellationToken), t => t.State == "gone", "hv1 to report tap300i0 gone", cancellationToken);
        // The other interfaces are still captured and uploaded: vm1 -> vm2 crosses hv1's tap100i0 and eno1.
        var ping = await LabEnvironment.InNamespaceAsync("hc-vm1", TimeSpan.FromSeconds(30), cancellationToken, "ping", "-c", "5", "-i", "0.2", "-W", "1", Vm2);
        Assert.That(ping.ExitCode, Is.Zero, $"the lab itself is broken: {ping}");
        var after = await EventuallyAsync(
            async () => await AgentAsync("hv1", cancellationToken), a => a.Observations >= before + 16, $"hv1 to upload vm1's echoes (had {before})", cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(AgentAlive("hv1"), Is.True, "the hv1 agent process is still running");
            Assert.That(after.Connected, Is.True);
            Assert.That(gone.Detail, Does.StartWith("vanished at"));
        });
    }

    [Test]
    [Order(3)]
    [CancelAfter(120_000)]
    public async Task VmMigrated_TapRecreatedOnHv2_ProbesPassHv2Tap300ThenDeletedGone(CancellationToken cancellationToken)
    {
        var startNs = NowNs();

        var probe = await PingUntilProbeAsync("hv2", startNs, cancellationToken);
        await Lab.LabAsync(TimeSpan.FromMinutes(1), cancellationToken, "vm", "del", "3");
        var gone = await EventuallyAsync(
            async () => await TapAsync("hv2", cancellationToken), t => t.State == "gone", "hv2 to report tap300i0 gone", cancellationToken);

        Assert.Multiple(() =>
        {
            Assert.That(probe.Points.Any(p => p.Node == "hv1" && p.Point == Tap), Is.False, "after the migration vm3's echoes no longer pass hv1");
            Assert.That(AgentAlive("hv2"), Is.True);
            Assert.That(gone.State, Is.EqualTo("gone"));
        });
    }

    /// <summary>
    /// Pings vm3 -> vm2 ten times a second (so the first echo captured on the new tap marks when
    /// capture started) until a probe sent after <paramref name="startNs"/> passes NODE/tap300i0.
    /// </summary>
    private async Task<ProbeRecord> PingUntilProbeAsync(string node, long startNs, CancellationToken cancellationToken)
    {
        using var stopPing = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pinging = LabEnvironment.InNamespaceAsync("hc-vm3", TimeSpan.FromSeconds(70), stopPing.Token, "ping", "-i", "0.1", "-w", "65", "-W", "1", Vm2);
        try
        {
            var deadline = Stopwatch.StartNew();
            var last = "";
            while (deadline.Elapsed < TimeSpan.FromSeconds(60))
            {
                var result = await Lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken,
                    "probes", "--src", Vm3, "--dst", Vm2, "--since", "2m", "--limit", "1000", "--json");
                last = result.ToString();
                if (result.ExitCode == 0)
                {
                    var probes = s_parser.Parse<ListProbesResponse>(result.StdOut).Probes
                        .Where(p => p.Points.Any(x => x.Node == node && x.Point == Tap && x.HasRequest && x.RequestTsNs >= startNs))
                        .OrderBy(p => FirstAt(p, node))
                        .ToList();
                    if (probes.Count > 0)
                    {
                        return probes[0];
                    }
                }

                await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
            }

            Assert.Fail($"no vm3 -> vm2 probe passed {node}/{Tap} within 60 s; last 'capture probes': {last}\n{Lab.LogTails()}");
            throw new InvalidOperationException("unreachable");
        }
        finally
        {
            await stopPing.CancelAsync();
            try
            {
                await pinging;
            }
            catch (TimeoutException)
            {
                // Stopped on purpose.
            }
        }
    }

    private static long FirstAt(ProbeRecord probe, string node) =>
        probe.Points.Where(p => p.Node == node && p.Point == Tap).Min(p => p.RequestTsNs);

    private async Task<AgentInfo> AgentAsync(string node, CancellationToken cancellationToken)
    {
        var result = await Lab.CliAsync(TimeSpan.FromSeconds(30), cancellationToken, "agents", "--json");
        Assert.That(result.ExitCode, Is.Zero, result.ToString());
        return s_parser.Parse<ListAgentsResponse>(result.StdOut).Agents.Single(a => a.Node == node && a.Connected);
    }

    private async Task<InterfaceInfo> TapAsync(string node, CancellationToken cancellationToken) =>
        (await AgentAsync(node, cancellationToken)).Interfaces.Single(i => i.Name == Tap);

    private async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, string what, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                TestContext.Out.WriteLine($"{what}: {watch.Elapsed.TotalSeconds:0.0} s");
                return value;
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(30))
            {
                Assert.Fail($"timed out after 30 s waiting for {what}; last: {value}\n{Lab.LogTails()}");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(500), cancellationToken);
        }
    }

    private bool AgentAlive(string node)
    {
        var file = Path.Combine(Lab.StateDirectory, "pids", $"agent-{node}.pid");
        return File.Exists(file) && File.ReadAllText(file).Split(' ')[0] is var pid && Directory.Exists($"/proc/{pid}");
    }

    private static long NowNs() => TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds() * 1_000_000L;
}
