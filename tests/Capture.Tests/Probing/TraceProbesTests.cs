using HopCapture.Analysis.Probes;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Probing;
using HopCapture.Engine.Correlation;
using HopCapture.Protos;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Probing;

/// <summary>A trace longer than the 16-bit icmp_seq: probes are counted by their place in the run, not by seq.</summary>
public sealed class TraceProbesTests
{
    private const int Count = 70_000;

    private static Probe WithSeq(Probe template, int n) => new(
        new ProbeResult
        {
            Key = template.Key with { IcmpSeq = (ushort)n },
            Points = template.Result.Points,
            Segments = template.Result.Segments,
            VerdictSegment = template.Result.VerdictSegment,
            Outcome = template.Result.Outcome,
            LostIn = template.Result.LostIn,
            LostAfter = template.Result.LostAfter,
            FirstTimestampNs = n * 10_000_000L,
            RoundTripNs = template.Result.RoundTripNs,
            Duplicates = 0,
        },
        template.Catalog,
        template.Src,
        template.Dst);

    private static bool Lost(int n) => n is >= 100 and <= 102 or >= 65_530 and <= 65_545;

    /// <summary>70,000 probes as the store hands them over: lost ones finalise later (after 300 more).</summary>
    private static List<Probe> Stored()
    {
        var answered = Records.Answered("10.0.0.5", "10.0.0.1", "fabric", 0.2).ToProbe();
        var lost = Records.Lost("10.0.0.5", "10.0.0.1", "fabric", "reply").ToProbe();
        var order = new List<(int At, Probe Probe)>(Count);
        for (var n = 1; n <= Count; n++)
        {
            order.Add(Lost(n) ? (n + 300, WithSeq(lost, n)) : (n, WithSeq(answered, n)));
        }

        return [.. order.OrderBy(p => p.At).Select(p => p.Probe)];
    }

    [Test]
    public void Add_MoreThan65536Probes_CountsEachOnce()
    {
        var probes = new TraceProbes();

        foreach (var probe in Stored())
        {
            probes.Add(probe);
        }

        Assert.Multiple(() =>
        {
            Assert.That(probes.Count, Is.EqualTo(Count), "the coordinator's loop ends when every probe of the run is in");
            Assert.That(probes.Answered, Is.EqualTo(Count - 19));
            Assert.That(probes.BySeq.Select(p => p.Seq).Order(), Is.EqualTo(Enumerable.Range(1, Count).Select(n => (long)n)));
        });
    }

    [Test]
    public void Report_MoreThan65536Probes_JumpsAcrossTheWrap()
    {
        var report = TraceCoordinator.Report("t", new TraceRunRequest { Count = Count }, "10.0.0.1", 7, Count, Stored());

        Assert.Multiple(() =>
        {
            Assert.That(report.Sent, Is.EqualTo(Count));
            Assert.That(report.Received, Is.EqualTo(Count - 19));
            Assert.That(report.Lost, Is.EqualTo(19));
            Assert.That(report.Jumps.Select(j => (j.FromSeq, j.ToSeq, j.Missing)),
                Is.EqualTo(new[] { (99u, 103u, 3u), (65_529u, 65_546u, 16u) }), "seq 65,536 is icmp_seq 0: the run goes on");
            Assert.That(report.Verdict, Does.Contain("19 lost in fabric on the reply leg"));
        });
    }

    [Test]
    public void Add_SameProbeStoredTwice_CountsOnce()
    {
        var probe = Records.Answered("10.0.0.5", "10.0.0.1").ToProbe();
        var probes = new TraceProbes();

        probes.Add(probe);
        probes.Add(probe);

        Assert.That((probes.Count, probes.Answered), Is.EqualTo((1, 1)));
    }
}
