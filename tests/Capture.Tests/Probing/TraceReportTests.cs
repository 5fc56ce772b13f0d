using HopCapture.Correlator.Probing;
using HopCapture.Protos;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Probing;

public sealed class TraceReportTests
{
    [Test]
    public void Report_Report000Freezes_ListsEveryJumpLikeTheAwkScript()
    {
        // Field report 000: ping -c 150 loses icmp_seq 12-53, 59-99 and 106-146.
        var lost = new HashSet<uint>();
        foreach (var (from, to) in new[] { (12u, 53u), (59u, 99u), (106u, 146u) })
        {
            for (var seq = from; seq <= to; seq++)
            {
                lost.Add(seq);
            }
        }

        var probes = Enumerable.Range(1, 150).Select(i => (uint)i).Select(seq =>
        {
            var record = lost.Contains(seq) ? Records.Lost("10.0.0.5", "10.0.0.1", "vif", "request") : Records.Answered("10.0.0.5", "10.0.0.1");
            record.Key.IcmpSeq = seq;
            return record;
        }).ToList();

        var report = TraceCoordinator.Report("t", new TraceRunRequest { From = "vm", To = "host", Count = 150 }, "10.0.0.1", 7, 150, probes.ToProbes());

        Assert.That(report.Sent, Is.EqualTo(150));
        Assert.That(report.Received, Is.EqualTo(150 - 42 - 41 - 41));
        Assert.That(report.Jumps.Select(j => (j.FromSeq, j.ToSeq, j.Missing)), Is.EqualTo(new[] { (11u, 54u, 42u), (58u, 100u, 41u), (105u, 147u, 41u) }));
        Assert.That(report.Verdict, Does.Contain("124 lost in vif on the request leg"));
        Assert.That(report.Segments.Select(s => s.Kind), Does.Contain("fabric"));
    }

    [Test]
    public void Report_TailLoss_IsAJumpToTheEnd()
    {
        var probes = Enumerable.Range(1, 8).Select(i =>
        {
            var record = i <= 5 ? Records.Answered("10.0.0.5", "10.0.0.1", "fabric", 120) : Records.Lost("10.0.0.5", "10.0.0.1");
            record.Key.IcmpSeq = (uint)i;
            return record;
        });

        var report = TraceCoordinator.Report("t", new TraceRunRequest { Count = 10 }, "10.0.0.1", 7, 10, probes.ToProbes());

        Assert.That(report.Lost, Is.EqualTo(5), "two never came back as records: still lost");
        Assert.That(report.Jumps.Single().FromSeq, Is.EqualTo(5));
        Assert.That(report.Jumps.Single().ToSeq, Is.EqualTo(11));
        Assert.That(report.Verdict, Does.StartWith("fabric"));
        Assert.That(report.Verdict, Does.Contain("120.00 ms"));
        Assert.That(report.Verdict, Does.Contain("verdict of 5/5 answered probes"));
    }
}
