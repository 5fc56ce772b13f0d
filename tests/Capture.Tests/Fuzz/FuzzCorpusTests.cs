using HopCapture.Fuzz;

namespace HopCapture.Tests.Fuzz;

/// <summary>
/// Hostile input in CI: every corpus input (seeds and what fuzzing found) and a seeded mutation
/// run per target must keep the targets' contracts — no unhandled exception, no hang, no
/// allocation beyond what the input justifies. build/fuzz.sh runs AFL++ for new inputs.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static string Corpus(string target) => Path.Combine(RepoPaths.Root, "fuzz", "corpus", target);

    [TestCase("decoder")]
    [TestCase("capture-file")]
    [TestCase("ingest")]
    public void Replay_Corpus_NoContractBroken(string target)
    {
        Assert.That(Directory.EnumerateFiles(Corpus(target)), Is.Not.Empty, "the corpus is in the repository");

        var failures = FuzzRunner.Replay(target, Corpus(target)).Select(f => f.Problem).ToList();

        Assert.That(failures, Is.Empty);
    }

    [TestCase("decoder", 60_000)]
    [TestCase("capture-file", 20_000)]
    [TestCase("ingest", 30_000)]
    public void Mutate_SeededRun_NoContractBroken(string target, int count)
    {
        var failures = FuzzRunner.Mutate(target, Corpus(target), count, seed: 20261130).Take(5).Select(f => f.Problem).ToList();

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public void RunOne_TargetThatThrows_IsReportedNotSwallowed()
    {
        var failure = FuzzRunner.RunOne("decoder", _ => throw new InvalidOperationException("boom"), [1, 2, 3]);

        Assert.That(failure?.Problem, Does.StartWith("InvalidOperationException: boom"));
    }

    [Test]
    public void RunOne_AllocationBeyondTheInput_IsReported()
    {
        var failure = FuzzRunner.RunOne("decoder", input => GC.KeepAlive(new byte[1 << 20]), [1, 2, 3]);

        Assert.That(failure?.Problem, Does.Contain("allocated"));
    }
}
