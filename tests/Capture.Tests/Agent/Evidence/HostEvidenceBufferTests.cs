using HopCapture.Agent.Evidence;
using HopCapture.Protos;

namespace HopCapture.Tests.Agent.Evidence;

[TestFixture]
public sealed class HostEvidenceBufferTests
{
    [Test]
    public void TakeUnsent_EachHeartbeat_CarriesOnlyWhatIsNew_AndANewStreamResendsAll()
    {
        var buffer = new HostEvidenceBuffer(capacity: 10, TimeSpan.FromMinutes(5));
        buffer.Add([Change(1), Change(2)], nowNs: 2);

        var first = buffer.TakeUnsent();
        buffer.Add([Change(3)], nowNs: 3);
        var second = buffer.TakeUnsent();
        var third = buffer.TakeUnsent();
        buffer.ResendAll();
        var afterReconnect = buffer.TakeUnsent();

        Assert.Multiple(() =>
        {
            Assert.That(first.Select(e => e.TsNs), Is.EqualTo(new long[] { 1, 2 }));
            Assert.That(second.Select(e => e.TsNs), Is.EqualTo(new long[] { 3 }));
            Assert.That(third, Is.Empty);
            Assert.That(afterReconnect.Select(e => e.TsNs), Is.EqualTo(new long[] { 1, 2, 3 }));
        });
    }

    [Test]
    public void Add_BeyondCapacityOrAge_DropsTheOldest()
    {
        var buffer = new HostEvidenceBuffer(capacity: 2, TimeSpan.FromSeconds(10));
        buffer.Add([Change(1), Change(2), Change(3)], nowNs: 3);
        Assert.That(buffer.Dropped, Is.EqualTo(1));

        buffer.Add([Change(12_000_000_000)], nowNs: 12_000_000_000);

        Assert.Multiple(() =>
        {
            Assert.That(buffer.Dropped, Is.EqualTo(2));
            Assert.That(buffer.TakeUnsent().Select(e => e.TsNs), Is.EqualTo(new long[] { 12_000_000_000 }), "the change at 3 ns is older than 10 s at 12 s");
        });
    }

    private static HostEvidence Change(long ts) => new() { TsNs = ts, Device = "tap100i0", Kind = "carrier", Name = "carrier", Value = "up", Previous = "down" };
}
