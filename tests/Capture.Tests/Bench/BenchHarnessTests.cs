extern alias bench;

using bench::HopCapture.Bench;

namespace HopCapture.Tests.Bench;

/// <summary>The benchmark harness on a tiny input, so build/bench.sh cannot rot between runs.</summary>
[NonParallelizable]
public class BenchHarnessTests
{
    [Test]
    public async Task RunAsync_TinyInput_MeasuresEverythingAndWritesResults()
    {
        var work = Path.Combine(Path.GetTempPath(), "hopcapture-bench-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var settings = new BenchSettings
            {
                Packets = 1_200,
                InFlightProbes = 50,
                Agents = 2,
                IngestSeconds = 0.5,
                IngestRate = 12_000,
                IngestRuns = 2,
                IngestWarmupSeconds = 2,
                EngineRuns = 1,
                External = false,
                OutputDirectory = Path.Combine(work, "out"),
                WorkDirectory = Path.Combine(work, "captures"),
            };

            var results = await BenchHarness.RunAsync(settings, TextWriter.Null).WaitAsync(TimeSpan.FromMinutes(2));
            BenchReport.Write(results, settings);

            Assert.Multiple(() =>
            {
                Assert.That(results.Packets, Is.EqualTo(1_200));
                Assert.That(results.Probes, Is.EqualTo(100));
                Assert.That(results.EngineObsPerSecond, Is.GreaterThan(0));
                Assert.That(results.BytesPerInFlightProbe, Is.GreaterThan(0));
                Assert.That(results.IngestObservations, Is.EqualTo(500 * 12));
                Assert.That(results.IngestProbesStored, Is.EqualTo(500));
                Assert.That(results.LatencyP99Ms, Is.GreaterThan(0));
                Assert.That(results.IngestRuns, Has.Count.EqualTo(2), "each run reported, against a fresh correlator");
                Assert.That(results.IngestRuns.Select(r => r.PeakMemoryBytes), Is.All.GreaterThan(0));
                Assert.That(results.IngestRuns.Select(r => r.Engine), Is.All.EqualTo(new EngineDuringRun(0, 0, 0)), "a light load: no probe cut short, dropped or held back");
                Assert.That(File.ReadAllText(Path.Combine(settings.OutputDirectory, "RESULTS.md")), Does.Contain("| 2 |"), "a row per run");
                Assert.That(File.ReadAllText(Path.Combine(settings.OutputDirectory, "RESULTS.md")), Does.Contain("engine, one core"));
                Assert.That(File.Exists(Path.Combine(settings.OutputDirectory, "results.json")), Is.True);
            });
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
