using HopCapture.Analysis.Loss;

namespace HopCapture.Tests.Analysis;

public sealed class SeqUnwrapperTests
{
    [Test]
    public void Unwrap_PastTheWrapAndOutOfOrder_GivesTheRunsOwnNumbers()
    {
        var unwrapper = new SeqUnwrapper();
        ushort[] seqs = [65_534, 65_535, 0, 1, 65_533, 2];

        var numbers = seqs.Select(unwrapper.Unwrap).ToArray();

        Assert.That(numbers, Is.EqualTo(new long[] { 65_534, 65_535, 65_536, 65_537, 65_533, 65_538 }));
    }

    [Test]
    public void Unwrap_ThreeWraps_KeepsCounting()
    {
        var unwrapper = new SeqUnwrapper();
        long last = 0;

        for (var n = 1; n <= 3 * 65_536 + 10; n++)
        {
            last = unwrapper.Unwrap((ushort)n);
        }

        Assert.That(last, Is.EqualTo(3 * 65_536 + 10));
    }
}
