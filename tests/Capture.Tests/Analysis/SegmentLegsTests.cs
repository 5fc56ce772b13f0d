using HopCapture.Analysis.Legs;
using HopCapture.Analysis.Probes;
using HopCapture.Analysis.Segments;
using HopCapture.Engine.Direction;

namespace HopCapture.Tests.Analysis;

public class SegmentLegsTests
{
    // A stored segment's leg name ("" for records written before legs existed) back to the split.
    private static ProbeSegment Fabric(string leg) =>
        new(0, 1, SegmentKind.Fabric, 120_365_000, false, new LegSplit(SegmentLegs.ParseSplit(leg), 180_000, 120_185_000, 0, 0, false));

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
