using HopCapture.Analysis.Probes;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Storage;
using HopCapture.Protos;

namespace HopCapture.Tests.Support;

/// <summary>Hand-made records (<see cref="Records"/>) fed where the correlator takes domain probes.</summary>
public static class RecordProbes
{
    /// <summary>As the store writer publishes a stored probe: the domain probe and its record.</summary>
    public static void Publish(this StoredProbeBus bus, ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(bus);
        ArgumentNullException.ThrowIfNull(record);
        bus.Publish(new StoredProbe(record.ToProbe(), record));
    }

    public static void Observe(this AlertEvaluator evaluator, ProbeRecord record, long nowNs)
    {
        ArgumentNullException.ThrowIfNull(evaluator);
        evaluator.Observe(record.ToProbe(), nowNs);
    }

    public static IEnumerable<Probe> ToProbes(this IEnumerable<ProbeRecord> records) => records.Select(static r => r.ToProbe());
}
