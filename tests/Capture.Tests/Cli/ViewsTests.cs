using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Tests.Cli;

public class ViewsTests
{
    [Test]
    public void PathsView_TwoPaths_RowPerPathWithLossPercentilesAndWorstProbe()
    {
        var response = new ListPathsResponse();
        response.Paths.Add(new PathSummary
        {
            Src = "192.168.47.111", Dst = "192.168.47.127", Probes = 116, Answered = 115, Lost = 1,
            RttP50Ns = 198_000, RttP99Ns = 120_554_000, RttMaxNs = 120_569_000, DominantSegment = "fabric", WorstProbeId = 42,
        });
        response.Paths.Add(new PathSummary { Src = "10.77.0.1", Dst = "10.77.0.2", Probes = 3, Lost = 3 });

        var rows = Rendered.Lines(PathsView.Build(response)).Select(Rendered.Cells).ToArray();

        Assert.That(rows[0], Is.EqualTo(Rendered.Row("src → dst", "probes", "loss", "RTT p50", "p99", "max", "dominant segment", "worst probe")));
        Assert.That(rows[2], Is.EqualTo(Rendered.Row("192.168.47.111 → 192.168.47.127", "116", "1 (0.9 %)", "0.198 ms", "120.55 ms", "120.57 ms", "fabric", "42")));
        Assert.That(rows[3], Is.EqualTo(Rendered.Row("10.77.0.1 → 10.77.0.2", "3", "3 (100.0 %)", "—", "—", "—", "—", "—")));
    }

    [Test]
    public void PathsView_Empty_SaysSo()
    {
        Assert.That(Rendered.Text(PathsView.Build(new ListPathsResponse())), Does.Contain("no probes seen"));
    }

    [Test]
    public void ProbesView_TodayAndOlderProbes_DateOnlyWhenNotTodayAndFooterCounts()
    {
        var answered = Seed003.Probe();
        var lost = Seed003.ReplyLostInFabric();
        lost.Id = 43;
        lost.FirstTsNs += 86_400_000_000_000L; // the next day, "today" below
        var response = new ListProbesResponse { Matched = 1234 };
        response.Probes.Add(answered);
        response.Probes.Add(lost);

        var lines = Rendered.Lines(ProbesView.Build(response, new DateOnly(2017, 4, 27)));
        var rows = lines.Select(Rendered.Cells).ToArray();

        Assert.That(rows[0], Is.EqualTo(Rendered.Row("id", "time (UTC)", "src → dst", "id/seq", "RTT", "verdict", "lost in")));
        Assert.That(rows[2], Is.EqualTo(Rendered.Row("42", "2017-04-26 19:53:08.851499", "192.168.47.111 → 192.168.47.127", "21616/110", "120.55 ms", "fabric, 120.37 ms")));
        Assert.That(rows[3], Is.EqualTo(Rendered.Row("43", "19:53:08.851499", "192.168.47.111 → 192.168.47.127", "21616/110", "lost", "lost in fabric", "fabric (reply)")));
        Assert.That(lines[^1].Trim(), Is.EqualTo("2 of 1,234 matching"));
    }

    [Test]
    public void AgentsView_StoreCannotWrite_SaysSoFirst()
    {
        var now = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero);
        var response = new ListAgentsResponse();
        response.Agents.Add(new AgentInfo { Node = "hv-a", Connected = true });
        response.StoreFaults.Add(new StoreFaultInfo
        {
            Part = "store",
            Problem = "SQLite Error 13: 'database or disk is full'.",
            SinceNs = HopCapture.Cli.Parsing.TimeArguments.ToUnixNs(now.AddSeconds(-12)),
        });

        var lines = Rendered.Lines(AgentsView.Build(response, now));

        Assert.That(string.Join(" ", lines.Take(2).Select(l => l.Trim())), Does.StartWith(
            "! the correlator's results store cannot write (SQLite Error 13: 'database or disk is full'.; first failed 12s ago): " +
            "agents are held back"));
    }

    [Test]
    public void AgentsView_OneAgent_SumsInterfaceCountersAndPrintsEngineLine()
    {
        var now = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero);
        var agent = new AgentInfo
        {
            Node = "hv-a", AgentVersion = "0.1.0", Connected = true, UploadDropped = 7,
            LastSeenNs = HopCapture.Cli.Parsing.TimeArguments.ToUnixNs(now.AddSeconds(-4)),
            Clock = new ClockStatus { Synchronized = true, EstimatedErrorNs = 1_200_000, Source = "adjtimex" },
            Spool = new SpoolStats { Bytes = 4_404_019, PendingBatches = 12, DroppedBatches = 3, TornBytes = 108, ReplayedBatches = 40 },
        };
        agent.Interfaces.Add(new InterfaceInfo { Name = "tap100i0", Role = Role.Vif, Point = "tap100i0" });
        agent.Interfaces.Add(new InterfaceInfo { Name = "eno1", Role = Role.Nic, Point = "bond0" });
        agent.Stats.Add(new InterfaceStats { Iface = 0, Captured = 1000, KernelDropped = 2, QueueDropped = 1, Up = true });
        agent.Stats.Add(new InterfaceStats { Iface = 1, Captured = 500, KernelDropped = 3, Up = true });
        var response = new ListAgentsResponse
        {
            Engine = new EngineStats { Observations = 1500, InFlight = 12, InFlightCap = 200_000, ProbesFinalized = 300, Late = 1 },
        };
        response.Agents.Add(agent);

        var lines = Rendered.Lines(AgentsView.Build(response, now));
        var row = Rendered.Cells(lines[2]);

        Assert.That(row, Is.EqualTo(Rendered.Row(
            "hv-a", "yes", "0.1.0", "tap100i0=vif, eno1=nic:bond0", "1,500", "5", "1", "7", "4.2 MiB, 12 pending; 3 dropped, 108 B torn, 40 replayed", "synced ±1.20 ms", "4s ago")));
        Assert.That(lines[^1].Trim(), Is.EqualTo(
            "engine: 1,500 observations, in flight 12/200,000, 300 finalised, 0 evicted, 1 late, 0 duplicates"));
    }

    [Test]
    public void AgentsView_InterfaceStates_WaitingGoneErrorAndVmShown()
    {
        var now = new DateTimeOffset(2025, 1, 31, 12, 0, 0, TimeSpan.Zero);
        var agent = new AgentInfo { Node = "hv1", AgentVersion = "0.1.0", Connected = true, LastSeenNs = HopCapture.Cli.Parsing.TimeArguments.ToUnixNs(now) };
        agent.Interfaces.Add(new InterfaceInfo { Name = "tap1", Role = Role.Vif, Point = "tap1", VmId = "100", VmName = "web01", State = "capturing" });
        agent.Interfaces.Add(new InterfaceInfo { Name = "tap2", Role = Role.Vif, Point = "tap2", State = "waiting" });
        agent.Interfaces.Add(new InterfaceInfo { Name = "tap3", Role = Role.Vif, Point = "tap3", State = "capturing" });
        agent.Interfaces.Add(new InterfaceInfo { Name = "tap4", Role = Role.Vif, Point = "tap4", State = "error", Detail = "boom" });
        agent.Stats.Add(new InterfaceStats { Iface = 0, Up = true, State = "capturing" });
        agent.Stats.Add(new InterfaceStats { Iface = 1, State = "waiting" });
        // The heartbeat is newer than the table: tap3 vanished since.
        agent.Stats.Add(new InterfaceStats { Iface = 2, State = "gone" });
        agent.Stats.Add(new InterfaceStats { Iface = 3, State = "error" });
        var response = new ListAgentsResponse();
        response.Agents.Add(agent);

        var row = Rendered.Cells(Rendered.Lines(AgentsView.Build(response, now))[2]);

        Assert.That(row[3], Is.EqualTo("tap1=vif (vm 100 web01), tap2=vif (waiting), tap3=vif (gone), tap4=vif (error: boom)"));
    }

    [Test]
    public void WatchLine_AnsweredAndLost_OneLineEach()
    {
        Assert.That(WatchLine.Format(Seed003.Probe()),
            Is.EqualTo("19:53:08.851499 192.168.47.111 → 192.168.47.127 seq 110 rtt 120.55 ms fabric, 120.37 ms"));
        Assert.That(WatchLine.Format(Seed003.ReplyLostInFabric()),
            Is.EqualTo("19:53:08.851499 192.168.47.111 → 192.168.47.127 seq 110 rtt lost lost in fabric (reply leg) after hv-b/eth0"));
    }
}
