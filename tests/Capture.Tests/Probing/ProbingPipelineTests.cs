using System.Text.Json;
using HopCapture.Cli;
using HopCapture.Correlator.Probing;
using HopCapture.Protos;
using HopCapture.Tests.Correlator;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Probing;

/// <summary>
/// A real correlator pushing plans and traces over the ingest stream to a real agent host whose
/// prober pings loopback; results come back through correlation and the store.
/// </summary>
[NonParallelizable]
public sealed class ProbingPipelineTests
{
    private string _directory = "";

    [SetUp]
    public void SetUp()
    {
        _directory = Path.Combine(Path.GetTempPath(), "hopcapture-probing-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void TearDown()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task ProbePlan_ConfigEditedWhileRunning_AgentFollowsWithoutRestart(CancellationToken cancellationToken)
    {
        var config = Path.Combine(_directory, "correlator.json");
        await File.WriteAllTextAsync(config, PlanJson("127.0.0.1"), cancellationToken);
        await using var correlator = await TestCorrelator.StartAsync(
            Path.Combine(_directory, "db.sqlite"), extraArgs: ["--config", config], cancellationToken: cancellationToken);
        await using var agent = await TestAgentHost.StartAsync("probe-a", correlator.Address);

        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(agent.Prober.PlanTargets), t => t.SequenceEqual(["127.0.0.1"]), "the pushed plan");
        var stored = await TestCorrelator.EventuallyAsync(
            token => correlator.Query.ListProbesAsync(new ListProbesRequest { Path = new PathFilter { Dst = "127.0.0.1" } }, cancellationToken: token).ResponseAsync,
            r => r.Probes.Count(p => p.Answered) >= 3, "probes of the plan in the store", TimeSpan.FromSeconds(20));

        var probe = stored.Probes.First(p => p.Answered);
        Assert.That(probe.Points, Has.Count.EqualTo(1));
        Assert.That(probe.Points[0].Role, Is.EqualTo(Role.App), "the prober's own view is a point");
        Assert.That(probe.Points[0].Node, Is.EqualTo("probe-a"));
        Assert.That(probe.RttNs, Is.GreaterThan(0).And.LessThan(50_000_000));

        // An operator edits the plan: the agent follows, no restart anywhere.
        await File.WriteAllTextAsync(config, PlanJson("127.0.0.2"), cancellationToken);
        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(agent.Prober.PlanTargets), t => t.SequenceEqual(["127.0.0.2"]), "the edited plan", TimeSpan.FromSeconds(20));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Trace_ToLoopback_AllAnsweredNoJumpsAndPass(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(Path.Combine(_directory, "db.sqlite"), cancellationToken: cancellationToken);
        await using var agent = await TestAgentHost.StartAsync("probe-b", correlator.Address);
        await WaitForProberAsync(correlator, "probe-b");

        var (exit, stdout, stderr) = await CliAsync(["--correlator", correlator.Address, "--json", "trace", "--from", "probe-b", "--to", "127.0.0.1", "--count", "20", "--interval", "20ms"]);

        Assert.That(exit, Is.Zero, stderr + stdout);
        using var json = JsonDocument.Parse(stdout);
        var report = json.RootElement;
        Assert.That(report.GetProperty("sent").GetInt32(), Is.EqualTo(20));
        Assert.That(report.GetProperty("received").GetInt32(), Is.EqualTo(20));
        Assert.That(report.GetProperty("jumps").GetArrayLength(), Is.Zero);
        Assert.That(report.GetProperty("passed").GetBoolean(), Is.True);
        Assert.That(report.GetProperty("src").GetString(), Is.EqualTo("127.0.0.1"));
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task Trace_CriteriaNotMet_PrintsFailAndExitsOne(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(Path.Combine(_directory, "db.sqlite"), cancellationToken: cancellationToken);
        await using var agent = await TestAgentHost.StartAsync("probe-c", correlator.Address);
        await WaitForProberAsync(correlator, "probe-c");

        var (exit, stdout, _) = await CliAsync(["--correlator", correlator.Address, "trace", "--from", "probe-c", "--to", "127.0.0.1", "--count", "5", "--interval", "20ms", "--max-p99", "1ns"]);

        Assert.That(exit, Is.EqualTo(1), stdout);
        Assert.That(stdout, Does.Contain("5 sent, 5 received, 0 lost (0.0 %)"));
        Assert.That(stdout, Does.Contain("icmp_seq jumps: none"));
        Assert.That(stdout, Does.Contain("FAIL: round-trip p99"));
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Trace_UnknownNode_OneLineErrorNamingIt(CancellationToken cancellationToken)
    {
        await using var correlator = await TestCorrelator.StartAsync(Path.Combine(_directory, "db.sqlite"), cancellationToken: cancellationToken);

        var (exit, _, stderr) = await CliAsync(["--correlator", correlator.Address, "trace", "--from", "nosuch", "--to", "127.0.0.1"]);

        Assert.That(exit, Is.Not.Zero);
        Assert.That(stderr.Trim().Split('\n'), Has.Length.EqualTo(1));
        Assert.That(stderr, Does.Contain("'nosuch'"));
    }

    private static async Task WaitForProberAsync(TestCorrelator correlator, string node)
    {
        var hub = correlator.Services.GetRequiredService<ControlHub>();
        await TestCorrelator.EventuallyAsync(_ => Task.FromResult(hub.Find(node)?.CanProbe == true), ok => ok, $"{node}'s prober to connect");
    }

    private static async Task<(int Exit, string StdOut, string StdErr)> CliAsync(string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var exit = await CliApp.RunAsync(args, stdout, stderr).WaitAsync(TimeSpan.FromSeconds(60));
        return (exit, stdout.ToString(), stderr.ToString());
    }

    private static string PlanJson(string target) => $$"""
        {
          "Correlator": {
            "Probing": {
              "Groups": { "probers": [ "probe-*" ] },
              "Plans": [ { "Name": "loop", "From": [ "@probers" ], "To": [ "{{target}}" ], "Interval": "00:00:00.100" } ]
            }
          }
        }
        """;
}
