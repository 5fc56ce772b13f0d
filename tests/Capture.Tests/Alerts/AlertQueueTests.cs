using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Storage;
using HopCapture.Tests.Correlator;
using HopCapture.Tests.Support;
using Microsoft.Extensions.DependencyInjection;

namespace HopCapture.Tests.Alerts;

/// <summary>
/// The alert evaluator takes probes as they are stored, not once per evaluation: at a million
/// observations a second a whole evaluation interval of probes did not fit its queue (65,536
/// probes, ~80 MB held), and the rest of each interval's probes were dropped unseen.
/// </summary>
public sealed class AlertQueueTests
{
    [Test]
    [CancelAfter(60_000)]
    public async Task Queue_TwiceItsCapacityWithinOneEvaluation_EveryProbeObservedNoneDropped(CancellationToken cancellationToken)
    {
        // Evaluations an hour apart: everything below is published between two of them.
        await using var correlator = await TestCorrelator.StartAsync(
            overrides: new Dictionary<string, string?> { ["Correlator:Alerts:EvaluationInterval"] = "01:00:00" },
            cancellationToken: cancellationToken);
        var bus = correlator.Services.GetRequiredService<StoredProbeBus>();
        var alerts = correlator.Services.GetRequiredService<AlertService>();
        var probe = Records.Answered("10.0.0.1", "10.0.0.2").ToProbe();
        probe.Id = 1;
        var stored = new StoredProbe(probe);

        const int Chunk = 8192;
        for (var published = 0; published < 2 * AlertService.QueueCapacity; published += Chunk)
        {
            for (var i = 0; i < Chunk; i++)
            {
                bus.Publish(stored);
            }

            await Task.Delay(50, cancellationToken);
        }

        Assert.That(alerts.Dropped, Is.Zero, "probes dropped from the alert queue");
    }
}
