using HopCapture.Analysis.Segments;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Alerts;
using HopCapture.Tests.Support;

namespace HopCapture.Tests.Analysis;

/// <summary>Typed kinds and the rule for combined kinds in selectors: fabric matches nic+fabric unless exact.</summary>
public sealed class SegmentKindTests
{
    [Test]
    public void Of_CombinedKind_KnowsItsPartsInPathOrder()
    {
        var kind = SegmentKind.Of("nic+fabric+nic");

        Assert.Multiple(() =>
        {
            Assert.That(kind.Parts.ToArray(), Is.EqualTo(new[] { SegmentPart.Nic, SegmentPart.Fabric, SegmentPart.Nic }));
            Assert.That(kind.IsCombined, Is.True);
            Assert.That(kind.Contains(SegmentPart.Fabric), Is.True);
            Assert.That(kind.Contains(SegmentPart.Vif), Is.False);
            Assert.That(kind.Contains(SegmentKind.Of("nic+fabric")), Is.True);
            Assert.That(kind.Contains(SegmentKind.Of("fabric+vif")), Is.False, "parts must stand next to each other, in order");
            Assert.That(SegmentKind.Of("FABRIC"), Is.SameAs(SegmentKind.Fabric), "interned by name, case-insensitive");
            Assert.That(SegmentKind.Fabric.IsCombined, Is.False);
        });
    }

    [TestCase("fabric", "fabric", true)]
    [TestCase("fabric", "nic+fabric", true)]
    [TestCase("fabric", "nic+fabric+nic", true)]
    [TestCase("fabric", "vif+nic", false)]
    [TestCase("nic+fabric", "nic+fabric+nic", true)]
    [TestCase("vif", "nic+fabric", false)]
    public void Matches_Contains_CombinedKindsThatHoldTheSelectorsParts(string selector, string kind, bool expected)
    {
        Assert.That(SegmentSelector.TryParse(selector, SegmentMatch.Contains, out var parsed), Is.True);

        Assert.That(parsed.Matches(SegmentKind.Of(kind)), Is.EqualTo(expected));
    }

    [TestCase("fabric", "fabric", true)]
    [TestCase("fabric", "nic+fabric", false)]
    [TestCase("nic+fabric", "nic+fabric", true)]
    public void Matches_Exact_OnlyThatKind(string selector, string kind, bool expected)
    {
        Assert.That(SegmentSelector.TryParse(selector, SegmentMatch.Exact, out var parsed), Is.True);

        Assert.That(parsed.Matches(SegmentKind.Of(kind)), Is.EqualTo(expected));
    }

    [TestCase("*")]
    [TestCase("any")]
    [TestCase("")]
    public void TryParse_AnyForms_MatchEverything(string text)
    {
        Assert.That(SegmentSelector.TryParse(text, SegmentMatch.Exact, out var parsed), Is.True);

        Assert.Multiple(() =>
        {
            Assert.That(parsed.IsAny, Is.True);
            Assert.That(parsed.Matches(SegmentKind.Of("vif+nic+fabric+nic+vif+remote")), Is.True);
        });
    }

    [TestCase("fabrik")]
    [TestCase("nic+switch")]
    public void TryParse_UnknownPart_IsRefused(string text)
    {
        Assert.That(SegmentSelector.TryParse(text, SegmentMatch.Contains, out _), Is.False);
    }

    [Test]
    public void Describe_SaysHowCombinedKindsCount()
    {
        SegmentSelector.TryParse("fabric", SegmentMatch.Contains, out var contains);
        SegmentSelector.TryParse("fabric", SegmentMatch.Exact, out var exact);

        Assert.Multiple(() =>
        {
            Assert.That(contains.Describe(), Is.EqualTo("fabric (+combined)"));
            Assert.That(exact.Describe(), Is.EqualTo("fabric (exact)"));
            Assert.That(SegmentSelector.Any.Describe(), Is.EqualTo("*"));
        });
    }

    /// <summary>A fabric delay that lands in nic+fabric because the far hypervisor's NIC was not captured.</summary>
    [TestCase("contains", true)]
    [TestCase("exact", false)]
    public void AlertRule_FabricDelayInNicPlusFabric_CountsUnlessExact(string match, bool counted)
    {
        var rule = AlertRule.Compile(new AlertRuleOptions
        {
            Name = "fabric-slow", Segment = "fabric", SegmentMatch = match, Statistic = "p99", Threshold = 50,
        });
        var record = Records.Answered("10.77.0.11", "10.77.0.12", "fabric", 120);
        record.Segments[2].Kind = "nic+fabric";

        var sampled = rule.TrySample(record.ToProbe(), out var value, out var breaching);

        Assert.Multiple(() =>
        {
            Assert.That(sampled, Is.EqualTo(counted));
            Assert.That(breaching, Is.EqualTo(counted));
            Assert.That(value, Is.EqualTo(counted ? 120 : 0).Within(0.001));
        });
    }

    [TestCase("contains", true)]
    [TestCase("exact", false)]
    public void AlertRule_LossInNicPlusFabric_CountsUnlessExact(string match, bool counted)
    {
        var rule = AlertRule.Compile(new AlertRuleOptions { Name = "fabric-loss", Segment = "fabric", SegmentMatch = match, Statistic = "loss", Threshold = 1 });

        rule.TrySample(Records.Lost("10.77.0.11", "10.77.0.12", "nic+fabric", "reply").ToProbe(), out _, out var breaching);

        Assert.That(breaching, Is.EqualTo(counted));
    }
}
