using HopCapture.Agent.Traffic;

namespace HopCapture.Tests.Traffic;

public class LinkSpeedTests
{
    private string _root = "";

    [SetUp]
    public void CreateRoot() => _root = Directory.CreateTempSubdirectory("hc-speed-").FullName;

    [TearDown]
    public void DeleteRoot() => Directory.Delete(_root, recursive: true);

    private void Link(string name, string? speed, bool device)
    {
        var dir = Directory.CreateDirectory(Path.Combine(_root, "sys/class/net", name)).FullName;
        if (speed is not null)
        {
            File.WriteAllText(Path.Combine(dir, "speed"), speed + "\n");
        }

        if (device)
        {
            Directory.CreateDirectory(Path.Combine(dir, "device"));
        }
    }

    [Test]
    public void Mbps_PhysicalNic_ItsSpeed_VirtualOrUnknown_MinusOne()
    {
        Link("eno1", "25000", device: true);
        Link("veth0", "10000", device: false);
        Link("eno2", "-1", device: true);
        Link("tap100i0", null, device: false);

        Assert.That(
            new[] { "eno1", "veth0", "eno2", "tap100i0", "missing" }.Select(n => LinkSpeed.Mbps(n, _root)),
            Is.EqualTo(new long[] { 25000, -1, -1, -1, -1 }));
    }
}
