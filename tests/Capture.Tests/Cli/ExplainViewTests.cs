using HopCapture.Cli.Rendering;

namespace HopCapture.Tests.Cli;

public class ExplainViewTests
{
    [Test]
    public void Build_FieldReport003_ShowsSixPointsInPathOrderWithTimestampsAndRoundTrips()
    {
        var lines = Rendered.Lines(ExplainView.Build(Seed003.Probe()));

        string[][] expected =
        [
            ["1", "vm_a", "eth0", "guest", "19:53:08.851499", "19:53:08.972053", "120.554 ms"],
            ["2", "hv-a", "023471", "vif", "19:53:08.850975", "19:53:08.971458", "120.483 ms"],
            ["3", "hv-a", "eth0", "nic", "19:53:08.850991", "19:53:08.971440", "120.449 ms"],
            ["4", "hv-b", "eth0", "nic", "19:53:08.851171", "19:53:08.851255", "0.084 ms"],
            ["5", "hv-b", "061606", "vif", "19:53:08.851188", "19:53:08.851241", "0.053 ms"],
            ["6", "vm_b", "eth0", "guest", "19:53:08.850831", "19:53:08.850846", "0.015 ms"],
        ];
        var rows = lines.Select(Rendered.Cells).Where(cells => cells.Length == 7 && cells[0].All(char.IsDigit)).ToArray();
        Assert.That(rows, Has.Length.EqualTo(6));
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.That(rows[i], Is.EqualTo(expected[i]), $"row {i + 1}");
        }
    }

    [Test]
    public void Build_FieldReport003_SegmentsAttributeTheDelayToTheFabric()
    {
        var lines = Rendered.Lines(ExplainView.Build(Seed003.Probe()));

        string[][] expected =
        [
            ["vm_a/eth0 → hv-a/023471", "vif", "0.071 ms", "0.1 %", "—", "—"],
            ["hv-a/023471 → hv-a/eth0", "nic", "0.034 ms", "0.0 %", "—", "—"],
            ["hv-a/eth0 → hv-b/eth0", "fabric", "120.365 ms", "99.8 %", "—", "—", "← verdict"],
            ["hv-b/eth0 → hv-b/061606", "nic", "0.031 ms", "0.0 %", "—", "—"],
            ["hv-b/061606 → vm_b/eth0", "vif", "0.038 ms", "0.0 %", "—", "—"],
            ["vm_b/eth0 → remote turnaround", "remote", "0.015 ms", "0.0 %", "—", "—", "within noise"],
        ];
        var rows = lines.Select(Rendered.Cells).Where(cells => cells[0].Contains(" → ", StringComparison.Ordinal) && cells.Length >= 4 && cells[0] != "from → to").ToArray();
        Assert.That(rows, Is.EqualTo(expected));
    }

    [Test]
    public void Build_LegsKnown_ShowsRequestAndReplyLegsAndTheLegInTheVerdict()
    {
        var probe = Seed003.Probe();
        var fabric = probe.Segments[2];
        (fabric.Leg, fabric.RequestNs, fabric.ReplyNs, fabric.LegUncertaintyNs) = ("reply", 180_000, 120_185_000, 8_000);
        probe.Segments[0].Leg = "unknown";
        probe.Verdict.Text = "fabric, reply leg, 120.19 ms ± 0.008 ms";

        var lines = Rendered.Lines(ExplainView.Build(probe));

        var rows = lines.Select(Rendered.Cells).Where(cells => cells.Length >= 4 && cells[1] is "fabric" or "vif").ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(rows[1], Is.EqualTo(new[] { "hv-a/eth0 → hv-b/eth0", "fabric", "120.365 ms", "99.8 %", "0.180 ms ±0.008", "120.185 ms ±0.008", "← verdict" }));
            Assert.That(rows[0][4..6], Is.EqualTo(new[] { "?", "?" }));
            Assert.That(lines, Has.Some.Contains("not known well enough"));
            Assert.That(lines[^1].Trim(), Is.EqualTo("verdict: fabric, reply leg, 120.19 ms ± 0.008 ms"));
        });
    }

    [Test]
    public void Build_FieldReport003_EndsWithTheVerdictLine()
    {
        var lines = Rendered.Lines(ExplainView.Build(Seed003.Probe()));

        Assert.That(lines[^1].Trim(), Is.EqualTo("verdict: fabric, 120.37 ms"));
        Assert.That(lines[0], Does.StartWith("probe 42: 192.168.47.111 → 192.168.47.127 id 21616 seq 110, sent 2017-04-26 19:53:08.851499 UTC"));
    }

    [Test]
    public void Build_SegmentCostsOfSeed_SumToTheSendersRoundTrip()
    {
        var probe = Seed003.Probe();

        Assert.That(probe.Segments.Sum(s => s.CostNs), Is.EqualTo(probe.Points[0].RoundTripNs));
    }

    [Test]
    public void VerdictLine_ReplyLostInFabric_NamesLegAndLastPointThatSawTheReply()
    {
        var probe = Seed003.ReplyLostInFabric();

        Assert.That(ExplainView.VerdictLine(probe), Is.EqualTo("verdict: lost in fabric (reply leg) after hv-b/eth0"));
        var lines = Rendered.Lines(ExplainView.Build(probe));
        var first = lines.Select(Rendered.Cells).First(cells => cells[0] == "1");
        string[] expected = ["1", "vm_a", "eth0", "guest", "19:53:08.851499", "—", "—"];
        Assert.That(first, Is.EqualTo(expected));
    }

    [Test]
    public void VerdictLine_RequestLostAfterSourceNic_NamesFarthestPointThatSawTheRequest()
    {
        var probe = Seed003.ReplyLostInFabric();
        probe.LostLeg = "request";
        for (var i = 3; i < 6; i++)
        {
            probe.Points[i].HasRequest = false;
            probe.Points[i].HasReply = false;
        }

        Assert.That(ExplainView.VerdictLine(probe), Is.EqualTo("verdict: lost in fabric (request leg) after hv-a/eth0"));
    }

    [Test]
    public void Build_BondSlavesDiffer_ShowsRequestAndReplyIfaceAndTheBond()
    {
        var probe = Seed003.Probe();
        probe.Points[2].Point = "bond0";
        probe.Points[2].RequestIface = "eno1";
        probe.Points[2].ReplyIface = "eno2";

        var lines = Rendered.Lines(ExplainView.Build(probe));

        var row = lines.Select(Rendered.Cells).First(cells => cells[0] == "3");
        Assert.That(row[2], Is.EqualTo("eno1/eno2 (bond0)"));
        Assert.That(lines, Has.Some.Contains("hv-a/bond0 → hv-b/eth0"));
    }
}
