using HopCapture.Packets.Filters;
using SharpPcap.LibPcap;

namespace HopCapture.Tests.Packets;

public class EchoFilterTests
{
    [TestCase(FilterDirection.Any, false)]
    [TestCase(FilterDirection.Any, true)]
    [TestCase(FilterDirection.Inbound, false)]
    [TestCase(FilterDirection.Outbound, true)]
    public void Build_AnyVariant_CompilesInLibpcap(FilterDirection direction, bool tunnels)
    {
        var filter = EchoFilter.Build(direction, tunnels);
        Assert.That(PcapDevice.CheckFilter(filter, out var error), Is.True, error);
    }

    [Test]
    public void Build_Inbound_PrefixesWholeExpression()
    {
        var filter = EchoFilter.Build(FilterDirection.Inbound);
        Assert.Multiple(() =>
        {
            Assert.That(filter, Does.StartWith("inbound and ("));
            Assert.That(filter, Does.EndWith(")"));
            Assert.That(filter, Does.Contain("vlan and"));
        });
    }
}
