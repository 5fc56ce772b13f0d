using HopCapture.Analysis.Probes;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Correlation;
using HopCapture.Protos;
using HopCapture.Tests.Engine;

namespace HopCapture.Tests.Contracts;

/// <summary>
/// The store writer maps each probe into a record it reuses for the next transaction: a reused
/// record must read exactly as a fresh mapping of the probe, whatever the probe before it held.
/// </summary>
public sealed class ProbeRecordFillTests
{
    [Test]
    public void FillRecord_ReusedAcrossProbesOfOtherShapes_EqualsAFreshMappingEachTime()
    {
        var lab = new EngineScenario();
        lab.Report003(seq: 1);
        lab.Report003(seq: 2, nics: false);
        // Request seen at the sender's guest and vif only: lost, with a place and a leg.
        lab.Request(lab.GuestA, "08.851499", seq: 3);
        lab.Request(lab.VifA, "08.850975", seq: 3);
        var probes = lab.AdvanceBy(TimeSpan.FromSeconds(10)).OrderBy(static r => r.Key.IcmpSeq)
            .Select(r => new Probe(r, lab.Catalog) { Id = r.Key.IcmpSeq * 10 }).ToList();
        Assert.That(probes.Select(static p => p.PointCount), Is.EqualTo(new[] { 6, 4, 2 }), "three shapes");
        Assert.That(probes[2].Answered, Is.False);

        var record = new ProbeRecord();
        probes[0].FillRecord(record);
        var firstPoint = record.Points[0];
        var verdict = record.Verdict;
        foreach (var probe in (Probe[])[probes[0], probes[1], probes[2], probes[0], probes[2], probes[1]])
        {
            probe.FillRecord(record);
            Assert.That(record, Is.EqualTo(probe.ToRecord()), $"probe {probe.IcmpSeq} after a reuse");
        }

        Assert.That(record.Points[0], Is.SameAs(firstPoint), "points are overwritten, not made anew");
        Assert.That(record.Verdict, Is.SameAs(verdict));
    }
}
