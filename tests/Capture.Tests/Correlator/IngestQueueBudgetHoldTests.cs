using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Ingest;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace HopCapture.Tests.Correlator;

/// <summary>
/// Under contention a batch far ahead of a stream that is still sending waits for that stream's
/// next batch (at most <see cref="IngestQueueBudget.MaxHold"/>), so two agents' halves of the same
/// probes reach the engine together instead of seconds apart (probes cut in two).
/// </summary>
public sealed class IngestQueueBudgetHoldTests
{
    private const long Second = 1_000_000_000;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 2, 12, 0, 0, TimeSpan.Zero));

    private IngestQueueBudget Budget() => new(Options.Create(new CorrelatorOptions { IngestQueueBytes = 1000 }), _time);

    private long Now => _time.NowNs();

    /// <summary>Both streams let in one second back, the budget over half spent; then one-point's batch of now.</summary>
    private static Task AheadOfTwoPoints(IngestQueueBudget budget, long t)
    {
        var lets = new[]
        {
            budget.AcquireAsync(100, new BatchSpan("two-points", t - Second, t - Second), CancellationToken.None),
            budget.AcquireAsync(450, new BatchSpan("one-point", t - Second, t - Second), CancellationToken.None),
        };
        Assert.That(lets.All(l => l.IsCompletedSuccessfully), Is.True, "neither is ahead of the other");
        return budget.AcquireAsync(100, new BatchSpan("one-point", t, t), CancellationToken.None);
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Acquire_ContendedAndOneSecondAheadOfAStreamStillSending_WaitsForItsNextBatch(CancellationToken cancellationToken)
    {
        using var budget = Budget();
        var t = Now;
        var ahead = AheadOfTwoPoints(budget, t);
        Assert.That(ahead.IsCompleted, Is.False, "one second ahead of two-points with the budget over half spent");

        var laggard = budget.AcquireAsync(100, new BatchSpan("two-points", t - Second + 1, t - (Second / 10)), cancellationToken);
        await Task.WhenAll(laggard, ahead).WaitAsync(cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(budget.Used, Is.EqualTo(750));
            Assert.That(budget.Held, Is.EqualTo(1));
        });
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Acquire_LaggardSendsNothing_TheBatchAheadGoesAfterTheHold(CancellationToken cancellationToken)
    {
        using var budget = Budget();
        var ahead = AheadOfTwoPoints(budget, Now);

        _time.Advance(IngestQueueBudget.MaxHold - TimeSpan.FromMilliseconds(1));
        Assert.That(ahead.IsCompleted, Is.False);
        _time.Advance(TimeSpan.FromMilliseconds(2));
        await ahead.WaitAsync(cancellationToken);
        Assert.That(budget.Used, Is.EqualTo(650));
    }

    [TestCase(250, 1, false, TestName = "Acquire_BudgetUnderHalfSpent_NoOneWaits")]
    [TestCase(450, 6, false, TestName = "Acquire_LaggardMoreThanAProbeTimeoutBehind_NoOneWaits")]
    [TestCase(450, 1, true, TestName = "Acquire_LaggardSentNothingForOverASecond_NoOneWaits")]
    public void Acquire_NoReasonToWait_GoesAtOnce(long used, int laggardBehindSeconds, bool laggardIdle)
    {
        using var budget = Budget();
        var t = Now;
        _ = budget.AcquireAsync(100, new BatchSpan("two-points", t - (laggardBehindSeconds * Second), t - (laggardBehindSeconds * Second)), CancellationToken.None);
        if (laggardIdle)
        {
            _time.Advance(IngestQueueBudget.IdleAfter + TimeSpan.FromMilliseconds(1));
        }

        _ = budget.AcquireAsync(used, new BatchSpan("one-point", t - Second, t - Second), CancellationToken.None);
        var ahead = budget.AcquireAsync(100, new BatchSpan("one-point", t, t), CancellationToken.None);

        Assert.That(ahead.IsCompleted, Is.True);
    }
}
