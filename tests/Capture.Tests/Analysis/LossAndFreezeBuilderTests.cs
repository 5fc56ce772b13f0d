using HopCapture.Analysis.Loss;
using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;

namespace HopCapture.Tests.Analysis;

/// <summary>
/// The builders the correlator (rows in SQL order) and <c>capture analyze</c> (records as the
/// engine finalises them: lost ones late) share: the order probes come in must not matter.
/// </summary>
public class LossAndFreezeBuilderTests
{
    private const long Second = 1_000_000_000;

    private readonly record struct Probe(string Src, string Dst, uint Id, ushort Seq, long TimestampNs, bool Answered, string LostIn, string LostLeg, string LostAfter);

    /// <summary>
    /// Field report 000's sequence on two paths: seqs 12–53, 59–99 and 106–146 lost in the vif at
    /// 1 s; a second ping run (id 8) on the first path with one freeze of probes no point saw
    /// (seqs 30–39 missing) and, on the reply leg, a tie of two places.
    /// </summary>
    private static List<Probe> Probes()
    {
        var probes = new List<Probe>();
        foreach (var (src, dst) in new[] { ("10.0.0.2", "10.0.0.10"), ("10.0.0.10", "10.0.0.2") })
        {
            for (var seq = 1; seq <= 150; seq++)
            {
                var lost = seq is > 11 and < 54 or > 58 and < 100 or > 105 and < 147;
                probes.Add(lost
                    ? new Probe(src, dst, 7, (ushort)seq, seq * Second, false, "vif", "request", "vm-1/eth0")
                    : new Probe(src, dst, 7, (ushort)seq, seq * Second, true, "", "", ""));
            }
        }

        for (var seq = 1; seq <= 60; seq++)
        {
            if (seq is >= 30 and < 40)
            {
                continue;
            }

            probes.Add(seq switch
            {
                50 or 51 => new Probe("10.0.0.2", "10.0.0.10", 8, (ushort)seq, 500 * Second + seq * Second / 5, false, "fabric", "reply", "hv2/eno1"),
                52 or 53 => new Probe("10.0.0.2", "10.0.0.10", 8, (ushort)seq, 500 * Second + seq * Second / 5, false, "fabric", "request", "hv1/eno1"),
                _ => new Probe("10.0.0.2", "10.0.0.10", 8, (ushort)seq, 500 * Second + seq * Second / 5, true, "", "", ""),
            });
        }

        return probes;
    }

    private static ListFreezesResponse Freezes(IEnumerable<Probe> probes, int minLost = PingRun.DefaultMinLost)
    {
        var builder = new FreezeReportBuilder(minLost);
        foreach (var p in probes)
        {
            builder.Add(p.Src, p.Dst, p.Id, p.Seq, p.TimestampNs, p.Answered, p.LostIn, p.LostLeg, p.LostAfter);
        }

        return builder.Build().ToProto();
    }

    private static ListLossResponse Loss(IEnumerable<Probe> probes)
    {
        var builder = new LossReportBuilder();
        foreach (var p in probes)
        {
            builder.Add(p.Src, p.Dst, p.TimestampNs, p.Answered, p.LostIn, p.LostLeg, p.LostAfter);
        }

        return builder.Build().ToProto();
    }

    /// <summary>As the engine finalises them: answered probes in time order, each lost one <paramref name="lag"/> probes later.</summary>
    private static List<Probe> LostLate(List<Probe> probes, int lag)
    {
        var ordered = new List<Probe>();
        var waiting = new Queue<(int Due, Probe Probe)>();
        for (var i = 0; i < probes.Count; i++)
        {
            while (waiting.Count > 0 && waiting.Peek().Due <= i)
            {
                ordered.Add(waiting.Dequeue().Probe);
            }

            if (probes[i].Answered)
            {
                ordered.Add(probes[i]);
            }
            else
            {
                waiting.Enqueue((i + lag, probes[i]));
            }
        }

        ordered.AddRange(waiting.Select(w => w.Probe));
        return ordered;
    }

    [Test]
    public void Build_TimeOrder_FreezesPerRunInSqlOrder()
    {
        var response = Freezes(Probes());

        Assert.Multiple(() =>
        {
            Assert.That(response.Freezes.Select(f => (f.Src, f.IcmpId, f.FirstSeq, f.LastSeq, f.Lost, f.Unseen, f.Segment, f.Leg)), Is.EqualTo(new[]
            {
                ("10.0.0.10", 7u, 12u, 53u, 42u, 0u, "vif", "request"),
                ("10.0.0.10", 7u, 59u, 99u, 41u, 0u, "vif", "request"),
                ("10.0.0.10", 7u, 106u, 146u, 41u, 0u, "vif", "request"),
                ("10.0.0.2", 7u, 12u, 53u, 42u, 0u, "vif", "request"),
                ("10.0.0.2", 7u, 59u, 99u, 41u, 0u, "vif", "request"),
                ("10.0.0.2", 7u, 106u, 146u, 41u, 0u, "vif", "request"),
                ("10.0.0.2", 8u, 30u, 39u, 10u, 10u, "unseen", ""),
                ("10.0.0.2", 8u, 50u, 53u, 4u, 0u, "fabric", "reply"),
            }));
            Assert.That(response.Series.Select(s => (s.Src, s.IcmpId, s.Periodic, s.PeriodNs / Second)), Is.EqualTo(new[]
            {
                ("10.0.0.10", 7u, true, 47L), ("10.0.0.2", 7u, true, 47L), ("10.0.0.2", 8u, false, 0L),
            }));
        });
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(3)]
    public void Build_ShuffledArrival_SameFreezesAsTimeOrder(int seed)
    {
        var probes = Probes();
        var shuffled = probes.ToArray();
        new Random(seed).Shuffle(shuffled);

        Assert.That(Freezes(shuffled), Is.EqualTo(Freezes(probes)));
    }

    [TestCase(5)]
    [TestCase(60)]
    public void Build_LostProbesFinaliseLate_SameFreezesAsTimeOrder(int lag)
    {
        var probes = Probes();

        Assert.That(Freezes(LostLate(probes, lag)), Is.EqualTo(Freezes(probes)));
    }

    [Test]
    public void Flush_RunByRunInSqlOrder_SameAsOneBuild()
    {
        // The correlator's way: rows ordered by run, a flush whenever the run changes.
        var probes = Probes()
            .OrderBy(p => p.Src, StringComparer.Ordinal).ThenBy(p => p.Dst, StringComparer.Ordinal)
            .ThenBy(p => p.Id).ThenBy(p => p.TimestampNs).ThenBy(p => p.Seq)
            .ToList();
        var builder = new FreezeReportBuilder();
        for (var i = 0; i < probes.Count; i++)
        {
            var p = probes[i];
            if (i > 0 && (probes[i - 1].Src, probes[i - 1].Dst, probes[i - 1].Id) != (p.Src, p.Dst, p.Id))
            {
                builder.Flush();
            }

            builder.Add(p.Src, p.Dst, p.Id, p.Seq, p.TimestampNs, p.Answered, p.LostIn, p.LostLeg, p.LostAfter);
            Assert.That(builder.Held, Is.LessThanOrEqualTo(150), "at most one run held");
        }

        Assert.That(builder.Build().ToProto(), Is.EqualTo(Freezes(Probes())));
    }

    [Test]
    public void Build_MinLost_ShorterRunsArePlainLoss()
    {
        var response = Freezes(Probes(), minLost: 5);

        Assert.That(response.Freezes.Select(f => (f.IcmpId, f.FirstSeq)), Does.Not.Contain((8u, 50u)).And.Contain((8u, 30u)));
    }

    [Test]
    public void Constructor_MinLostZero_Throws() =>
        Assert.That(() => new FreezeReportBuilder(0), Throws.InstanceOf<ArgumentOutOfRangeException>());

    [Test]
    public void LossBuild_AnyOrder_SamePathsPlacesAndTies()
    {
        var probes = Probes();
        var shuffled = probes.ToArray();
        new Random(4).Shuffle(shuffled);

        var ordered = Loss(probes);
        var loss = Loss(shuffled);

        Assert.Multiple(() =>
        {
            Assert.That(loss, Is.EqualTo(ordered));
            Assert.That(loss.Paths.Select(p => (p.Src, p.Probes, p.Lost)), Is.EqualTo(new[] { ("10.0.0.10", 150UL, 124UL), ("10.0.0.2", 200UL, 128UL) }));
            // Two fabric places lost two each: the leg breaks the tie, not the order they came in.
            Assert.That(loss.Paths[1].Places.Select(p => (p.Segment, p.Leg, p.Lost)), Is.EqualTo(new[]
            {
                ("vif", "request", 124UL), ("fabric", "reply", 2UL), ("fabric", "request", 2UL),
            }));
            Assert.That((loss.Paths[1].FirstTsNs, loss.Paths[1].LastTsNs), Is.EqualTo((1 * Second, 500 * Second + 12 * Second)));
            Assert.That(loss.Paths[1].Places[0].Rate, Is.EqualTo(124.0 / 200));
        });
    }
}
