using HopCapture.Correlator.Journal;

namespace HopCapture.Tests.Correlator.Journal;

/// <summary>How far the journal is done with when the engine takes batches out of journal order (oldest data first).</summary>
public class JournalCheckpointsTests
{
    [Test]
    public void Covered_BatchesTakenOutOfJournalOrder_StopsBeforeTheOldestRecordNotDone()
    {
        var checkpoints = new JournalCheckpoints();
        checkpoints.Journalled(1, "nc1", "i1", 7);
        checkpoints.Journalled(2, "nc2", "i2", 4);
        checkpoints.Journalled(3, "nc1", "i1", 8);

        // Records 2 and 3 are taken and finalised; record 1 still waits in the engine's inbox.
        checkpoints.Taken(2, 100);
        checkpoints.Taken(3, 110);
        checkpoints.Finalised(horizonNs: 200, published: 5);
        Assert.That(checkpoints.Covered(5), Is.Null, "record 1 is not done: nothing after it may be dropped from the journal");

        checkpoints.Taken(1, 300);
        checkpoints.Finalised(horizonNs: 400, published: 9);
        Assert.That(checkpoints.Covered(8), Is.Null, "the store has not written the probes handed on by then");
        var covered = checkpoints.Covered(9);
        Assert.Multiple(() =>
        {
            Assert.That(covered?.Index, Is.EqualTo(3UL));
            Assert.That(covered?.Seqs, Is.EquivalentTo(new Dictionary<(string, string), ulong> { [("nc1", "i1")] = 8, [("nc2", "i2")] = 4 }));
        });
    }
}
