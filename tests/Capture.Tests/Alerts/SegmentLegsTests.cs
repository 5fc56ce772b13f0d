using HopCapture.Correlator.Alerts;
using HopCapture.Protos;

namespace HopCapture.Tests.Alerts;

public class SegmentLegsTests
{
    private static Segment Fabric(string leg) => new()
    {
        Kind = "fabric",
        CostNs = 120_365_000,
        RequestNs = 180_000,
        ReplyNs = 120_185_000,
        Leg = leg,
    };

    [Test]
    public void Cost_SplitKnown_EachLegSeesItsOwnShare()
    {
        var segment = Fabric("reply");

        Assert.Multiple(() =>
        {
            Assert.That(SegmentLegs.Cost(segment, Leg.Reply), Is.EqualTo(120_185_000));
            Assert.That(SegmentLegs.Cost(segment, Leg.Request), Is.EqualTo(180_000));
            Assert.That(SegmentLegs.Cost(segment, Leg.Any), Is.EqualTo(120_365_000));
        });
    }

    [TestCase("unknown")]
    [TestCase("")]
    public void Cost_SplitNotKnownYet_LegRulesSeeNothing(string leg)
    {
        var segment = Fabric(leg);

        Assert.That(SegmentLegs.Cost(segment, Leg.Reply), Is.Null);
        Assert.That(SegmentLegs.Cost(segment, Leg.Any), Is.EqualTo(120_365_000));
    }
}
