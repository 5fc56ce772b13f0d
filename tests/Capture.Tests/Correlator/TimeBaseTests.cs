using Google.Protobuf;
using HopCapture.Cli;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// Query windows are on the correlator's arrival time (issue 12): a capturing node whose clock is
/// off still falls in the window it was seen in. Report 003's probe, with every node's clock set
/// to now and the source guest's 10 minutes behind, is what the correlator took just now.
/// </summary>
public class TimeBaseTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);
    private static readonly long GuestOffNs = (long)TimeSpan.FromMinutes(10).TotalNanoseconds;

    [Test]
    public async Task GuestClockTenMinutesBehind_SinceFiveMinutes_ProbeAndPathListed()
    {
        await using var correlator = await TestCorrelator.StartAsync();
        var nowNs = (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100;
        var shift = nowNs - Report003.MinuteNs;
        foreach (var (node, _) in Report003.Nodes)
        {
            var clock = shift - (node == "vm_a" ? GuestOffNs : 0);
            await using var agent = await TestAgent.ConnectAsync(correlator, Report003.HelloFor(node));
            var observations = Report003.ObservationsFor(node).Select(o => { var c = o.Clone(); c.TsNs += clock; return c; }).ToList();
            var ack = await agent.SendBatchAsync(1, observations);
            Assert.That(ack.Accepted, Is.EqualTo((uint)observations.Count), $"{node}: {ack.RejectReason}");
        }

        var probes = await TestCorrelator.EventuallyAsync(
            _ => CliJsonAsync<ListProbesResponse>(correlator.Address, "probes", "--since", "5m"),
            r => r.Probes.Count == 1, "the probe inside --since 5m", Timeout);
        var paths = await CliJsonAsync<ListPathsResponse>(correlator.Address, "paths", "--since", "5m");
        var table = await CliAsync(correlator.Address, "paths", "--since", "5m");

        var probe = probes.Probes.Single();
        Assert.Multiple(() =>
        {
            // The guest's own clock puts it 10 minutes ago: outside the window on capture time.
            Assert.That(probe.FirstTsNs, Is.LessThan(nowNs - (long)TimeSpan.FromMinutes(5).TotalNanoseconds));
            Assert.That(probe.ArrivalNs, Is.GreaterThanOrEqualTo(nowNs - (long)TimeSpan.FromSeconds(30).TotalNanoseconds));
            Assert.That(probe.Verdict.Kind, Is.EqualTo("fabric"));
            Assert.That(paths.Paths.Select(static p => (p.Src, p.Dst, p.Probes)), Is.EqualTo(new[] { (Report003.Src, Report003.Dst, 1UL) }));
            Assert.That(table, Does.Contain(Report003.Src + " → " + Report003.Dst));
        });
    }

    private static async Task<string> CliAsync(string correlator, params string[] command)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(["--correlator", correlator, .. command], stdout, stderr).WaitAsync(Timeout);
        Assert.That(exit, Is.Zero, $"capture {string.Join(' ', command)}: {stderr}");
        return stdout.ToString();
    }

    private static async Task<T> CliJsonAsync<T>(string correlator, params string[] command)
        where T : IMessage<T>, new() =>
        new JsonParser(JsonParser.Settings.Default.WithIgnoreUnknownFields(true)).Parse<T>(await CliAsync(correlator, ["--json", .. command]));
}
