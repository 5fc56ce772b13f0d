using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Ingest;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Correlator;

public sealed class IngestQueueBudgetTests
{
    private static IngestQueueBudget Budget(long bytes) => new(Options.Create(new CorrelatorOptions { IngestQueueBytes = bytes }));

    [Test]
    [CancelAfter(10_000)]
    public async Task Acquire_BudgetSpent_WaitsUntilReleasedInOrder(CancellationToken cancellationToken)
    {
        var budget = Budget(1000);
        await budget.AcquireAsync(600, cancellationToken);
        var second = budget.AcquireAsync(600, cancellationToken);
        var third = budget.AcquireAsync(100, cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(second.IsCompleted, Is.False, "600 + 600 is over the budget");
            Assert.That(third.IsCompleted, Is.False, "first come, first served: a small batch does not overtake a waiting one");
        });

        budget.Release(600);
        await Task.WhenAll(second, third).WaitAsync(cancellationToken);
        Assert.That(budget.Used, Is.EqualTo(700));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Acquire_BudgetSpent_MostBehindStreamGoesFirst(CancellationToken cancellationToken)
    {
        var budget = Budget(1000);
        await budget.AcquireAsync(1000, cancellationToken);
        var now = TimeProvider.System.NowNs();
        var current = budget.AcquireAsync(600, new BatchSpan(null, now, now), cancellationToken);
        var late = budget.AcquireAsync(600, new BatchSpan(null, now - 3_000_000_000, now - 3_000_000_000), cancellationToken);

        budget.Release(1000);
        await late.WaitAsync(cancellationToken);
        Assert.That(current.IsCompleted, Is.False, "the stream three seconds behind went first; 600 + 600 is over the budget");

        budget.Release(600);
        await current.WaitAsync(cancellationToken);
        Assert.That(budget.Used, Is.EqualTo(600));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Acquire_LargerThanTheBudget_GoesAloneWhenNothingIsQueued(CancellationToken cancellationToken)
    {
        var budget = Budget(1000);
        await budget.AcquireAsync(5000, cancellationToken);
        var next = budget.AcquireAsync(1, cancellationToken);
        Assert.That(next.IsCompleted, Is.False);
        budget.Release(5000);
        await next.WaitAsync(cancellationToken);
        Assert.That(budget.Used, Is.EqualTo(1));
    }

    [Test]
    [CancelAfter(10_000)]
    public async Task Acquire_WaiterCancelled_IsSkippedAndHoldsNothing(CancellationToken cancellationToken)
    {
        var budget = Budget(1000);
        await budget.AcquireAsync(1000, cancellationToken);
        using var gone = new CancellationTokenSource();
        var cancelled = budget.AcquireAsync(500, gone.Token);
        var after = budget.AcquireAsync(300, cancellationToken);
        await gone.CancelAsync();
        Assert.That(async () => await cancelled, Throws.InstanceOf<OperationCanceledException>());

        budget.Release(1000);
        await after.WaitAsync(cancellationToken);
        Assert.That(budget.Used, Is.EqualTo(300), "the cancelled stream's share was never taken");
    }
}
