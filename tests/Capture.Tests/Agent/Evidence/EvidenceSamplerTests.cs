using System.Globalization;
using HopCapture.Agent.Evidence;
using HopCapture.Protos;

namespace HopCapture.Tests.Agent.Evidence;

/// <summary>
/// The host evidence sampler against real kernel state: a bridge and a veth in a namespace of the
/// test's own (hcu-host-PID), its sysfs mounted into a temp directory (sysfs shows the devices of
/// the network namespace that mounts it), its qdiscs read over a netlink socket opened inside it.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class EvidenceSamplerTests
{
    private readonly string _ns = "hcu-host-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    private string _root = "";
    private QdiscReader? _qdisc;

    [SetUp]
    public void CreateNamespace()
    {
        NetnsCapture.CreateVethPair(_ns, "v0", "10.98.0.1", _ns + "b", "v1", "10.98.0.2");
        NetnsCapture.Ip($"-n {_ns} link add br0 type bridge stp_state 0 forward_delay 0");
        NetnsCapture.Ip($"-n {_ns} link set v0 master br0");
        NetnsCapture.Ip($"-n {_ns} link set br0 up");
        _root = NetnsCapture.MountSysfs(_ns);
        NetnsCapture.InNamespace(_ns, () => _qdisc = QdiscReader.TryOpen(out _));
    }

    [TearDown]
    public void RemoveNamespace()
    {
        _qdisc?.Dispose();
        NetnsCapture.UnmountSysfs(_root);
        NetnsCapture.TearDown([], _ns, _ns + "b");
    }

    [Test]
    public void Sample_FirstSample_RecordsStatesOfThePortAndItsBridgeButNoCounters()
    {
        var sampler = new EvidenceSampler(_root, _qdisc, kernel: null);

        var first = sampler.Sample([new WatchedInterface("v0", "v0")], 1_000);

        Assert.Multiple(() =>
        {
            Assert.That(first.Select(e => e.Device).Distinct(), Is.EquivalentTo(new[] { "v0", "br0" }));
            Assert.That(Find(first, "v0", "state").Value, Is.EqualTo("forwarding"));
            Assert.That(Find(first, "v0", "state").Bridge, Is.EqualTo("br0"));
            Assert.That(Find(first, "br0", "stp_state").Value, Is.EqualTo("off"));
            Assert.That(Find(first, "v0", "qdisc").Value, Is.EqualTo("noqueue"));
            Assert.That(first.Where(e => e.Delta != 0 || e.Name.EndsWith("_dropped", StringComparison.Ordinal)), Is.Empty, "counters only count from the second sample");
            Assert.That(first.Where(e => e.Device == "br0").SelectMany(e => e.Points), Is.All.EqualTo("v0"), "the bridge carries the capture point");
        });
    }

    [Test]
    public void Sample_LinkDownAndTinyQdisc_CarrierPortStateAndQdiscChangeAreReported()
    {
        var sampler = new EvidenceSampler(_root, _qdisc, kernel: null);
        sampler.Sample([new WatchedInterface("v0", "v0")], 1_000);

        NetnsCapture.Ip($"-n {_ns} link set v0 down");
        NetnsCapture.Run("tc", $"-n {_ns} qdisc add dev v0 root tbf rate 1mbit burst 2kb limit 3kb");
        var changes = sampler.Sample([new WatchedInterface("v0", "v0")], 2_000);
        var again = sampler.Sample([new WatchedInterface("v0", "v0")], 3_000);

        Assert.Multiple(() =>
        {
            Assert.That(Find(changes, "v0", "carrier").Value, Is.EqualTo("down (admin)"));
            Assert.That(Find(changes, "v0", "carrier").Previous, Is.EqualTo("up"));
            Assert.That(Find(changes, "v0", "carrier_changes").Delta, Is.EqualTo(1));
            Assert.That((Find(changes, "v0", "state").Previous, Find(changes, "v0", "state").Value), Is.EqualTo(("forwarding", "disabled")));
            Assert.That((Find(changes, "v0", "qdisc").Previous, Find(changes, "v0", "qdisc").Value), Is.EqualTo(("noqueue", "tbf")));
            Assert.That(changes.Select(e => e.TsNs), Is.All.EqualTo(2_000));
            // States are reported once (deltas only). Counters may move on their own meanwhile: the
            // kernel still tries to send on the bridge (IPv6 router solicitations, MLD) and counts drops.
            Assert.That(again.Where(static e => e.Kind != "counter"), Is.Empty, "nothing changed since: deltas only");
        });
    }

    [Test]
    public void QdiscReader_ShaperDroppingABurst_CountsTheDrops()
    {
        NetnsCapture.Run("tc", $"-n {_ns} qdisc add dev v0 root tbf rate 100kbit burst 1600 limit 1600");
        NetnsCapture.Ip($"-n {_ns} link set v0 nomaster");
        var ping = NetnsCapture.Run("ip", $"netns exec {_ns} ping -q -i 0.01 -c 50 -s 1400 -w 1 10.98.0.2");
        var ifIndex = DeviceReadings.IfIndex(_root, "v0");

        var stats = _qdisc!.Read();

        Assert.That(stats[ifIndex].Kind, Is.EqualTo("tbf"), ping.Output);
        Assert.That(stats[ifIndex].Drops, Is.GreaterThan(0), ping.Output);
    }

    private static HostEvidence Find(List<HostEvidence> evidence, string device, string name) =>
        evidence.SingleOrDefault(e => e.Device == device && e.Name == name)
        ?? throw new AssertionException($"no {name} of {device} in: {string.Join("\n", evidence)}");
}
