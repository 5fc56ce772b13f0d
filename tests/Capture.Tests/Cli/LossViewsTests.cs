using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Tests.Cli;

public class LossViewsTests
{
    private const long Second = 1_000_000_000;
    private static readonly DateOnly Today = new(2026, 11, 23);
    private static readonly long Noon = new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds() * 1_000_000;

    /// <summary>Field report 000 as the correlator answers it.</summary>
    private static ListFreezesResponse Report000()
    {
        var response = new ListFreezesResponse();
        foreach (var (first, last, at) in new[] { (12u, 53u, 12L), (59u, 99u, 59L), (106u, 146u, 106L) })
        {
            response.Freezes.Add(new FreezeInfo
            {
                Src = "192.168.0.11", Dst = "192.168.0.1", IcmpId = 9, FirstSeq = first, LastSeq = last,
                StartNs = Noon + at * Second, DurationNs = (last - first + 1) * Second, Lost = last - first + 1,
                Segment = "vif", Leg = "request", After = "vm-1/eth0",
            });
        }

        response.Series.Add(new FreezeSeries
        {
            Src = "192.168.0.11", Dst = "192.168.0.1", IcmpId = 9, Freezes = 3, Periodic = true, PeriodNs = 47 * Second,
            MeanLost = 41.33, Segment = "vif",
        });
        return response;
    }

    [Test]
    public void FreezesView_Report000_RowPerFreezeAndThePeriod()
    {
        var lines = Rendered.Lines(FreezesView.Build(Report000(), Today));
        var rows = lines.Select(Rendered.Cells).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(rows[0], Is.EqualTo(Rendered.Row("src → dst", "id", "seq", "start (UTC)", "duration", "lost", "where", "after")));
            Assert.That(rows[2], Is.EqualTo(Rendered.Row("192.168.0.11 → 192.168.0.1", "9", "12→53", "12:00:12.000000", "42.000 s", "42", "vif (request leg)", "vm-1/eth0")));
            Assert.That(lines[^1], Is.EqualTo("192.168.0.11 → 192.168.0.1 id 9: 3 freezes, ~41 lost each, every 47.000 s ± 0.000 ms (periodic), in vif"));
        });
    }

    [Test]
    public void FreezesView_None_SaysSo()
    {
        Assert.That(Rendered.Text(FreezesView.Build(new ListFreezesResponse(), Today)), Does.Contain("no freezes"));
    }

    [Test]
    public void LossView_TwoPlaces_PathRowThenOneRowPerPlace()
    {
        var path = new PathLoss { Src = "10.77.0.11", Dst = "10.77.0.12", Probes = 200, Lost = 30, Rate = 0.15 };
        path.Places.Add(new LossPlace { Segment = "fabric", Leg = "request", After = "hv1/eno1", Lost = 28, Rate = 0.14 });
        path.Places.Add(new LossPlace { Segment = "unseen", Lost = 2, Rate = 0.01 });
        var response = new ListLossResponse();
        response.Paths.Add(path);

        var rows = Rendered.Lines(LossView.Build(response)).Select(Rendered.Cells).ToArray();

        Assert.Multiple(() =>
        {
            Assert.That(rows[2], Is.EqualTo(Rendered.Row("10.77.0.11 → 10.77.0.12", "200", "30", "15.0 %", "fabric", "request", "hv1/eno1", "28", "14.0 %")));
            Assert.That(rows[3], Is.EqualTo(Rendered.Row("unseen", "—", "—", "2", "1.0 %")));
        });
    }

    [Test]
    public void AgentsView_SteppedAndUnsyncedClocks_FlaggedAndOffsetsListed()
    {
        var response = new ListAgentsResponse();
        var agent = new AgentInfo { Node = "vm_b", Connected = true, Clock = new ClockStatus { Synchronized = false, MaxErrorNs = 16 * Second, Source = "adjtimex" } };
        agent.ClockFlags.Add("unsynchronised");
        agent.ClockFlags.Add("offset stepped 1× (largest -5.00 ms)");
        response.Agents.Add(agent);
        response.Offsets.Add(new ClockOffset
        {
            NearNode = "nc2", NearPoint = "061606", FarNode = "vm_b", FarPoint = "eth0", OffsetNs = -5_340_000, UncertaintyNs = 9_000,
            State = "locked", Samples = 300, Steps = 1, LastStepNs = -5_000_000, LastStepAtNs = Noon,
        });

        var text = Rendered.Text(AgentsView.Build(response, DateTimeOffset.FromUnixTimeMilliseconds(Noon / 1_000_000 + 60_000)));

        Assert.Multiple(() =>
        {
            Assert.That(text, Does.Contain("! unsynchronised; offset stepped 1× (largest -5.00 ms)"));
            Assert.That(text, Does.Contain("nc2/061606"));
            Assert.That(text, Does.Contain("-5.340 ms"));
            Assert.That(text, Does.Contain("-5.00 ms, 60s ago"));
        });
    }
}
