using HopCapture.Analysis.Loss;

namespace HopCapture.Tests.Analysis;

public class PingRunFreezeTests
{
    private const long Second = 1_000_000_000;

    /// <summary>
    /// Field report 000: ping -c 150 at 1 s from vm-1, icmp_seq jumping 11→54, 58→100, 105→147;
    /// the requests left the guest and vanished in its virtio hop.
    /// </summary>
    private static SeqOutcome[] Report000(bool unseen = false)
    {
        var run = new List<SeqOutcome>();
        for (var seq = 1; seq <= 150; seq++)
        {
            var lost = seq is > 11 and < 54 or > 58 and < 100 or > 105 and < 147;
            if (lost && unseen)
            {
                continue;
            }

            run.Add(lost
                ? new SeqOutcome((ushort)seq, seq * Second, false, "vif", "request", "vm-1/eth0")
                : new SeqOutcome((ushort)seq, seq * Second, true, "", "", ""));
        }

        return [.. run];
    }

    [Test]
    public void Find_Report000Sequence_ThreeFreezesInTheVifEvery47s()
    {
        var freezes = PingRun.Freezes(Report000());
        var period = PingRun.Period(freezes);

        Assert.Multiple(() =>
        {
            Assert.That(freezes.Select(f => (f.FirstSeq, f.LastSeq, f.Lost)), Is.EqualTo(new[]
            {
                ((ushort)12, (ushort)53, 42), ((ushort)59, (ushort)99, 41), ((ushort)106, (ushort)146, 41),
            }));
            Assert.That(freezes.Select(f => f.DurationNs / Second), Is.EqualTo(new[] { 42, 41, 41 }));
            Assert.That(freezes.Select(f => (f.Segment, f.Leg, f.After)), Is.All.EqualTo(("vif", "request", "vm-1/eth0")));
            Assert.That(period, Is.Not.Null);
            Assert.That(period!.PeriodNs / Second, Is.EqualTo(47));
            Assert.That(period.SpreadNs, Is.Zero);
            Assert.That(period.MeanLost, Is.EqualTo(41.33).Within(0.01));
        });
    }

    [Test]
    public void Find_NoPointSawTheLostProbes_SeqGapsAreUnseenFreezes()
    {
        var freezes = PingRun.Freezes(Report000(unseen: true));

        Assert.Multiple(() =>
        {
            Assert.That(freezes.Select(f => (f.FirstSeq, f.Lost, f.Unseen)), Is.EqualTo(new[]
            {
                ((ushort)12, 42, 42), ((ushort)59, 41, 41), ((ushort)106, 41, 41),
            }));
            Assert.That(freezes.Select(f => f.Segment), Is.All.EqualTo("unseen"));
            Assert.That(freezes[0].StartNs, Is.EqualTo(12 * Second));
            Assert.That(freezes[0].EndNs, Is.EqualTo(54 * Second));
        });
    }

    [Test]
    public void Find_TwoLostInARow_PlainLossNotAFreeze()
    {
        var run = Enumerable.Range(1, 20)
            .Select(seq => new SeqOutcome((ushort)seq, seq * Second, seq is not (5 or 6), seq is 5 or 6 ? "fabric" : "", "", ""))
            .ToArray();

        Assert.That(PingRun.Freezes(run), Is.Empty);
    }

    [Test]
    public void Find_SenderSilentWithoutSeqGap_Silence()
    {
        // A paused guest: ping's seq carries on where it stopped, but nothing was sent for 30 s.
        var run = Enumerable.Range(1, 20)
            .Select(seq => new SeqOutcome((ushort)seq, (seq + (seq > 10 ? 30 : 0)) * Second, true, "", "", ""))
            .ToArray();

        var freeze = PingRun.Freezes(run).Single();

        Assert.Multiple(() =>
        {
            Assert.That(freeze.Silence, Is.True);
            Assert.That((freeze.FirstSeq, freeze.LastSeq), Is.EqualTo(((ushort)10, (ushort)11)));
            Assert.That(freeze.DurationNs / Second, Is.EqualTo(30));
        });
    }

    [Test]
    public void Find_RunEndsLost_FreezeIsOngoing()
    {
        var run = Enumerable.Range(1, 10)
            .Select(seq => new SeqOutcome((ushort)seq, seq * Second, seq < 6, seq < 6 ? "" : "fabric", "", ""))
            .ToArray();

        var freeze = PingRun.Freezes(run).Single();

        Assert.That((freeze.Ongoing, freeze.Lost, freeze.Segment), Is.EqualTo((true, 5, "fabric")));
    }

    [Test]
    public void Period_IrregularGaps_NotPeriodic()
    {
        var freezes = new[] { 10L, 57, 80, 200 }
            .Select(s => new Freeze(0, 0, s * Second, s * Second + 5 * Second, 5, 0, "vif", "", "", false))
            .ToList();

        Assert.That(PingRun.Period(freezes), Is.Null);
    }

    [Test]
    public void Find_SeqWrapsAround_NoFalseGap()
    {
        var run = Enumerable.Range(65_530, 12)
            .Select(i => new SeqOutcome((ushort)i, i * Second, true, "", "", ""))
            .ToArray();

        Assert.That(PingRun.Freezes(run), Is.Empty);
    }
}
