using HopCapture.Engine.Attribution;
using HopCapture.Engine.Model;

namespace HopCapture.Tests.Engine;

public class PathCoordinatesTests
{
    [TestCase(0, 1, "vif")]
    [TestCase(1, 3, "nic")]
    [TestCase(3, 4, "fabric")]
    [TestCase(0, 3, "vif+nic")]
    [TestCase(3, 6, "fabric+nic")]
    [TestCase(1, 6, "nic+fabric+nic")]
    [TestCase(6, 7, "vif")]
    [TestCase(-1, 0, "stack")]
    [TestCase(3, 3, "nic")]
    public void Kind_BetweenCoordinates_NamesWhatItSpans(int from, int to, string expected) =>
        Assert.That(PathCoordinates.Kind(from, to), Is.EqualTo(expected));

    [TestCase(7, "remote")]
    [TestCase(6, "vif+remote")]
    [TestCase(3, "fabric+nic+vif+remote")]
    public void RemoteKind_LastPointShort_OfResponder_IncludesTheRest(int last, string expected) =>
        Assert.That(PathCoordinates.RemoteKind(last), Is.EqualTo(expected));

    [TestCase(PointRole.Guest, PacketDirection.Out, true)]
    [TestCase(PointRole.Guest, PacketDirection.In, false)]
    [TestCase(PointRole.Vif, PacketDirection.In, true)]
    [TestCase(PointRole.Vif, PacketDirection.Out, false)]
    [TestCase(PointRole.Nic, PacketDirection.Out, true)]
    [TestCase(PointRole.Nic, PacketDirection.In, false)]
    public void SenderSide_RoleAndRequestDirection_Decides(PointRole role, PacketDirection direction, bool expected) =>
        Assert.That(PathCoordinates.SenderSide(role, direction), Is.EqualTo(expected));

    [Test]
    public void SenderSide_BridgeOrNoDirection_Unknown()
    {
        Assert.That(PathCoordinates.SenderSide(PointRole.Bridge, PacketDirection.In), Is.Null);
        Assert.That(PathCoordinates.SenderSide(PointRole.Nic, PacketDirection.Unknown), Is.Null);
    }
}
