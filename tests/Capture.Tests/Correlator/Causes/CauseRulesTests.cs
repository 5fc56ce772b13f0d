using HopCapture.Correlator.Causes;
using HopCapture.Protos;

namespace HopCapture.Tests.Correlator.Causes;

/// <summary>The cause rules on hand-made evidence: what each rule needs to fire, and what must not make it fire.</summary>
[TestFixture]
public sealed class CauseRulesTests
{
    private const long S = 1_000_000_000;

    [Test]
    public void Hints_PortThroughListeningAndLearning_StpHintWithTwiceTheForwardDelayFirst()
    {
        List<HostEvidence> evidence =
        [
            Port(10, "forwarding", "disabled"), Carrier(10, "up", "down (admin)"), Carrier(11, "down (admin)", "up"),
            Port(11, "disabled", "listening"), Port(13, "listening", "learning"), Port(15, "learning", "forwarding"),
            new() { Node = "hv1", TsNs = 15 * S, Device = "vmbr0", Kind = "stp", Name = "topology_change", Previous = "no", Value = "yes" },
        ];

        var hints = CauseRules.Hints("nic", ["hv1"], evidence);

        Assert.Multiple(() =>
        {
            Assert.That(hints.Select(h => h.Cause), Is.EqualTo(new[] { "stp", "link_flap" }), "the bridge's topology change folds into the port's STP hint");
            Assert.That((hints[0].Node, hints[0].Device), Is.EqualTo(("hv1", "tap100i0")));
            Assert.That(hints[0].Summary, Does.Contain("not forwarding for 5 s").And.Contain("listening + learning 4 s = 2× the forward delay of 2 s")
                .And.Contain("vmbr0 flagged a topology change"));
            Assert.That(hints[0].Fix, Does.Contain("bridge-stp off").And.Contain("bridge-fd 0").And.Contain("ip link set vmbr0 type bridge stp_state 0"));
            Assert.That(hints[0].Evidence.Select(e => e.Value), Does.Contain("listening").And.Contain("learning").And.Contain("yes"));
        });
    }

    [Test]
    public void Hints_PortDisabledThenForwardingWithoutStp_LinkFlapOnly()
    {
        List<HostEvidence> evidence = [Port(10, "forwarding", "disabled"), Port(12, "disabled", "forwarding"), Carrier(10, "up", "down (admin)"), Carrier(12, "down (admin)", "up")];

        var hints = CauseRules.Hints("vif", ["vm1", "hv1"], evidence);

        Assert.That(hints.Select(h => h.Cause), Is.EqualTo(new[] { "link_flap" }));
        Assert.That(hints[0].Summary, Does.Contain("tap100i0 lost its link (down (admin) → up)"));
    }

    [Test]
    public void Hints_QdiscDropsRising_QueueOverflowNamingTheTap()
    {
        List<HostEvidence> evidence =
        [
            new() { Node = "hv1", TsNs = 10 * S, Device = "tap100i0", Kind = "qdisc", Name = "qdisc_drops", Previous = "0", Value = "640", Delta = 640 },
            new() { Node = "hv1", TsNs = 10 * S, Device = "tap100i0", Kind = "qdisc", Name = "qdisc_overlimits", Previous = "0", Value = "900", Delta = 900 },
        ];

        var hints = CauseRules.Hints("nic", ["hv1"], evidence);

        Assert.That(hints.Select(h => (h.Cause, h.Node, h.Device)), Is.EqualTo(new[] { ("queue_overflow", "hv1", "tap100i0") }));
        Assert.That(hints[0].Summary, Does.Contain("qdisc_drops +640"));
        Assert.That(hints[0].Evidence.Select(e => e.Name), Is.EqualTo(new[] { "qdisc_drops" }), "overlimits are shaping, not loss");
    }

    [Test]
    public void Hints_ErrorCounters_NicErrors()
    {
        List<HostEvidence> evidence = [new() { Node = "hv2", TsNs = 10 * S, Device = "eno1", Kind = "counter", Name = "rx_missed_errors", Previous = "3", Value = "40", Delta = 37 }];

        var hints = CauseRules.Hints("fabric", ["hv1", "hv2"], evidence);

        Assert.That(hints.Select(h => (h.Cause, h.Device)), Is.EqualTo(new[] { ("nic_errors", "eno1") }));
    }

    [Test]
    public void Hints_DriverDropCounterRising_NicErrorsNotQueueOverflow()
    {
        // A driver's own rx_dropped (ethtool -S) is its ring losing frames, not the kernel's queue.
        List<HostEvidence> evidence =
        [
            new() { Node = "hv2", TsNs = 10 * S, Device = "eno1", Kind = "counter", Name = "driver:rx_queue_0_xdp_drops", Previous = "0", Value = "12", Delta = 12 },
            new() { Node = "hv2", TsNs = 10 * S, Device = "eno1", Kind = "counter", Name = "driver:rx_dropped", Previous = "5", Value = "9", Delta = 4 },
        ];

        var hints = CauseRules.Hints("fabric", ["hv1", "hv2"], evidence);

        Assert.That(hints.Select(h => (h.Cause, h.Device)), Is.EqualTo(new[] { ("nic_errors", "eno1") }));
        Assert.That(hints[0].Summary, Does.Contain("driver:rx_queue_0_xdp_drops +12").And.Contain("driver:rx_dropped +4"));
        Assert.That(hints[0].Fix, Does.Contain("ethtool -S"));
    }

    [Test]
    public void Hints_OffloadChangedInTheWindow_NicSettingsHintCitingBeforeAndAfter()
    {
        List<HostEvidence> evidence =
        [
            new() { Node = "hv1", TsNs = 10 * S, Device = "eno1", Kind = "offload", Name = "offload", Previous = "tso on, gro on", Value = "tso on, gro off" },
            new() { Node = "hv1", TsNs = 1 * S, Device = "eno2", Kind = "offload", Name = "offload", Value = "tso on, gro on" },
        ];

        var hints = CauseRules.Hints("nic", ["hv1"], evidence);

        Assert.That(hints.Select(h => (h.Cause, h.Device)), Is.EqualTo(new[] { ("nic_settings", "eno1") }), "a baseline (first sample) is no change");
        Assert.That(hints[0].Summary, Is.EqualTo("offload settings changed on eno1 during the freeze: tso on, gro on → tso on, gro off"));
        Assert.That(hints[0].Fix, Does.Contain("ethtool -k eno1").And.Contain("ethtool -c eno1"));
        Assert.That(hints[0].Evidence, Has.Count.EqualTo(1));
    }

    [Test]
    public void Hints_KernelLineAlone_KernelHint()
    {
        List<HostEvidence> evidence = [new() { Node = "hv1", TsNs = 10 * S, Device = "eno1", Kind = "kernel", Name = "kmsg", Value = "ixgbe 0000:01:00.0 eno1: NIC Link is Down" }];

        var hints = CauseRules.Hints("nic", ["hv1"], evidence);

        Assert.That(hints.Select(h => h.Cause), Is.EqualTo(new[] { "kernel" }));
        Assert.That(hints[0].Summary, Does.Contain("NIC Link is Down"));
    }

    [Test]
    public void Hints_OnlyBaselinesOnAFabricSegment_NothingChangedLookAtTheSwitches()
    {
        // An agent's first sample is a baseline, not a change: "listening" then proves nothing.
        List<HostEvidence> evidence = [new() { Node = "hv1", TsNs = 10 * S, Device = "tap100i0", Kind = "port_state", Name = "state", Value = "listening", Bridge = "vmbr0" }];

        var hints = CauseRules.Hints("fabric", ["hv1", "hv2"], evidence);

        Assert.That(hints.Select(h => (h.Cause, h.Summary)), Is.EqualTo(new[] { ("none", "nothing on hv1 or hv2 changed: look at the switches") }));
    }

    [Test]
    public void Hints_NothingOnAHostSegment_NoHostCauseWithoutBlamingTheSwitches()
    {
        var hints = CauseRules.Hints("vif", ["vm1", "hv1"], []);

        Assert.That(hints.Single().Summary, Is.EqualTo("nothing on vm1 or hv1 changed in that window: no host cause found"));
    }

    [Test]
    public void Scope_RequestAndReplyLegs_TheNextPointAlongTheLeg()
    {
        List<string> path = ["vm1/eth0", "hv1/tap100i0", "hv1/eno1", "hv2/eno1"];

        Assert.Multiple(() =>
        {
            Assert.That(FreezeCauses.Scope(path, "hv1/tap100i0", "request"), Is.EqualTo(new[] { "hv1/tap100i0", "hv1/eno1" }));
            Assert.That(FreezeCauses.Scope(path, "hv1/eno1", "reply"), Is.EqualTo(new[] { "hv1/eno1", "hv1/tap100i0" }));
            Assert.That(FreezeCauses.Scope(path, "hv2/eno1", "request"), Is.EqualTo(new[] { "hv2/eno1" }));
            Assert.That(FreezeCauses.Scope(path, "", ""), Is.EqualTo(new[] { "vm1/eth0" }));
        });
    }

    private static HostEvidence Port(long seconds, string previous, string value) => new()
    {
        Node = "hv1", TsNs = seconds * S, Device = "tap100i0", Kind = "port_state", Name = "state", Previous = previous, Value = value,
        Bridge = "vmbr0", ForwardDelayNs = 2 * S,
    };

    private static HostEvidence Carrier(long seconds, string previous, string value) => new()
    {
        Node = "hv1", TsNs = seconds * S, Device = "tap100i0", Kind = "carrier", Name = "carrier", Previous = previous, Value = value,
    };
}
