using HopCapture.Correlator.Correlation;
using Observation = HopCapture.Engine.Model.Observation;

namespace HopCapture.Tests.Correlator;

public sealed class EngineInboxTests
{
    [Test]
    [CancelAfter(10_000)]
    public async Task WaitForPost_BatchesAlreadyWaiting_CompletesOnlyAtTheNextPost(CancellationToken cancellationToken)
    {
        // The engine, full, waits for a stream that fell behind to post the halves of its probes:
        // batches it cannot take already wait, so "a batch waits" would wake it at once, forever.
        using var inbox = new EngineInbox(16);
        var ahead = new object();
        var behind = new object();
        await inbox.PostAsync(new IngestBatch(new ArraySegment<Observation>([]), 1, 0, ahead, 10), cancellationToken);

        var posted = inbox.WaitForPostAsync(cancellationToken);
        Assert.Multiple(() =>
        {
            Assert.That(inbox.WaitToReadAsync(cancellationToken).IsCompletedSuccessfully, Is.True, "a batch waits");
            Assert.That(posted.IsCompleted, Is.False, "nothing was posted since");
        });

        await inbox.PostAsync(new IngestBatch(new ArraySegment<Observation>([]), 2, 0, behind, 20), cancellationToken);
        Assert.That(await posted.WaitAsync(cancellationToken), Is.True);
        Assert.That(inbox.Count, Is.EqualTo(2));
    }
}
