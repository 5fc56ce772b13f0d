using Google.Protobuf;
using HopCapture.Correlator.Incidents;
using HopCapture.Protos;

namespace HopCapture.Tests.Traffic;

public class IncidentContextTests
{
    private const long Second = 1_000_000_000;

    private static TrafficWindow Window(string iface, string point, ulong inBytes, long speed = -1, params TrafficFlow[] flows)
    {
        var window = new TrafficWindow { Node = "hv1", Iface = iface, Point = point, FromNs = 0, ToNs = 10 * Second, BucketNs = Second / 10, InBytes = inBytes, SpeedMbps = speed };
        window.Buckets.Add(new TrafficBucket { StartNs = 5 * Second, InBytes = inBytes });
        window.Flows.AddRange(flows);
        return window;
    }

    private static TrafficFlow Flow(ulong bytes, uint dstPort) => new()
    {
        Src = ByteString.CopyFrom(10, 77, 0, 3), Dst = ByteString.CopyFrom(10, 77, 0, 1), Protocol = 6, SrcPort = 50000, DstPort = dstPort,
        Direction = Direction.In, Bytes = bytes, Packets = bytes / 1500,
    };

    [Test]
    public void Build_StorageOnOneSlave_TopTalkerNamedAndBondImbalancedOnThatSlave()
    {
        var record = new IncidentRecord();
        record.Windows.Add(Window("eno1", "bond0", 12_000_000, -1, Flow(11_000_000, 6802), Flow(500_000, 22)));
        record.Windows.Add(Window("eno2", "bond0", 1_000_000, -1, Flow(900_000, 3260)));

        IncidentContext.Build(record, new IncidentOptions());

        Assert.That(record.TopTalkers[0].Flow.Service, Is.EqualTo("ceph-osd"));
        Assert.That(record.TopTalkers[0].Share, Is.EqualTo(11.0 / 12).Within(1e-9));
        Assert.That(record.TopTalkers.Select(t => t.Flow.Service), Is.EqualTo(new[] { "ceph-osd", "iscsi", "ssh" }));
        var bond = record.Bonds.Single();
        Assert.That((bond.Point, bond.Imbalanced, bond.HeavySlave), Is.EqualTo(("bond0", true, "eno1")));
        Assert.That(bond.Slaves[0].Share, Is.EqualTo(12.0 / 13).Within(1e-9));
    }

    [Test]
    public void Build_EvenSplit_BondBalanced()
    {
        var record = new IncidentRecord();
        record.Windows.Add(Window("eno1", "bond0", 6_000_000));
        record.Windows.Add(Window("eno2", "bond0", 5_000_000));

        IncidentContext.Build(record, new IncidentOptions());

        Assert.That(record.Bonds.Single().Imbalanced, Is.False);
    }

    [Test]
    public void Load_BusiestBucketAgainstSpeed_NearLineRateOnlyWhenTheSpeedIsKnown()
    {
        // 12.5 MB in one 100 ms bucket = 1000 Mbit/s.
        var gigabit = IncidentContext.Load(Window("eno1", "eno1", 12_500_000, 1000), 0.9);
        var unknown = IncidentContext.Load(Window("eno1", "eno1", 12_500_000, -1), 0.9);
        var tenGig = IncidentContext.Load(Window("eno1", "eno1", 12_500_000, 10_000), 0.9);

        Assert.That(gigabit.PeakMbps, Is.EqualTo(1000).Within(1e-6));
        Assert.That((gigabit.NearLineRate, unknown.NearLineRate, tenGig.NearLineRate), Is.EqualTo((true, false, false)));
    }

    [TestCase(6u, 50000u, 6789u, "ceph-mon")]
    [TestCase(6u, 6805u, 40000u, "ceph-osd")]
    [TestCase(6u, 40000u, 2049u, "nfs")]
    [TestCase(6u, 40000u, 7790u, "drbd")]
    [TestCase(17u, 5405u, 5405u, "corosync")]
    [TestCase(6u, 60001u, 40000u, "pve-migration")]
    [TestCase(6u, 40000u, 41000u, "tcp")]
    [TestCase(1u, 0u, 0u, "icmp")]
    public void ServiceNames_WellKnownPorts_Named(uint protocol, uint src, uint dst, string expected) =>
        Assert.That(ServiceNames.Of(protocol, src, dst), Is.EqualTo(expected));
}
