using HopCapture.Analysis.Reports;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Alerts;
using HopCapture.Protos;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Analysis;

/// <summary>
/// The alert <c>freezes</c> statistic and <c>capture freezes</c> run the one ping-run analysis:
/// on the same probes they count the same freezes, whatever order the probes were stored in.
/// </summary>
public sealed class PingRunAgreementTests
{
    private const string Src = "10.0.0.5";
    private const string Dst = "10.0.0.1";
    private const long Second = 1_000_000_000;

    /// <summary>Field report 000: ping -c 150 at 1 s, icmp_seq jumping 11→54, 58→100, 105→147, lost in the guest's virtio hop.</summary>
    private static List<ProbeRecord> Report000(Func<int, bool>? unseen = null)
    {
        var records = new List<ProbeRecord>();
        for (var seq = 1; seq <= 150; seq++)
        {
            var lost = seq is > 11 and < 54 or > 58 and < 100 or > 105 and < 147;
            if (lost && unseen?.Invoke(seq) == true)
            {
                continue; // no point saw it at all: a gap in the seqs
            }

            var record = lost ? Records.Lost(Src, Dst, "vif", "request") : Records.Answered(Src, Dst);
            record.Key.IcmpSeq = (uint)seq;
            record.FirstTsNs = 1_700_000_000 * Second + seq * Second;
            records.Add(record);
        }

        return records;
    }

    /// <summary>As the correlator stores them: lost probes finalise at the probe timeout, after later answered ones.</summary>
    private static IEnumerable<ProbeRecord> StoredOrder(List<ProbeRecord> records) =>
        records.OrderBy(r => r.Key.IcmpSeq + (r.Answered ? 0 : 5));

    private static int CaptureFreezes(IEnumerable<ProbeRecord> records, string segment = "*")
    {
        var builder = new FreezeReportBuilder(minLost: 3);
        foreach (var record in records)
        {
            builder.Add(record);
        }

        return builder.Build().ToProto().Freezes.Count(f => !f.Silence && (segment == "*" || f.Segment == segment));
    }

    private static double AlertFreezes(IEnumerable<ProbeRecord> records, string segment = "*")
    {
        var evaluator = new AlertEvaluator();
        evaluator.SetRules([AlertRule.Compile(new AlertRuleOptions
        {
            Name = "freezes", Segment = segment, Statistic = "freezes", Threshold = 0, Window = TimeSpan.FromMinutes(10),
            For = TimeSpan.Zero, MinSamples = 1, FreezeMinLost = 3,
        })]);
        var now = 1_700_000_000 * Second;
        foreach (var record in records)
        {
            now += Second / 10;
            evaluator.Observe(record, now);
        }

        var transitions = evaluator.Evaluate(now);
        return transitions.Count == 0 ? 0 : transitions.Single().Alert.Value;
    }

    [Test]
    public void Freezes_Report000_AlertAndCaptureFreezesAgree()
    {
        var records = Report000();

        var capture = CaptureFreezes(records);
        var alert = AlertFreezes(StoredOrder(records));

        Assert.Multiple(() =>
        {
            Assert.That(capture, Is.EqualTo(3), "field report 000's three freezes");
            Assert.That(alert, Is.EqualTo(capture));
        });
    }

    [Test]
    public void Freezes_SeqGaps_AlertCountsWhatCaptureFreezesFinds()
    {
        // The first freeze was seen by no point at all (its seqs are missing), the second in part.
        var records = Report000(unseen: seq => seq is > 11 and < 54 or > 80 and < 100);

        var capture = CaptureFreezes(records);
        var alert = AlertFreezes(StoredOrder(records));

        Assert.Multiple(() =>
        {
            Assert.That(capture, Is.EqualTo(3), "seq gaps are lost probes too");
            Assert.That(alert, Is.EqualTo(capture));
        });
    }

    [TestCase("vif", 2)]
    [TestCase("unseen", 1)]
    [TestCase("fabric", 0)]
    public void Freezes_SegmentRule_CountsTheFreezesCaptureFreezesPlacesThere(string segment, int expected)
    {
        var records = Report000(unseen: seq => seq is > 11 and < 54);
        if (segment == "unseen")
        {
            // "unseen" is where capture freezes places a freeze no point saw; rules name real kinds.
            Assert.That(CaptureFreezes(records, segment), Is.EqualTo(expected));
            return;
        }

        Assert.Multiple(() =>
        {
            Assert.That(CaptureFreezes(records, segment), Is.EqualTo(expected));
            Assert.That(AlertFreezes(StoredOrder(records), segment), Is.EqualTo(expected));
        });
    }
}
