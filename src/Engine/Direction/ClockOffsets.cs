namespace HopCapture.Engine.Direction;

/// <summary>One pair's estimate as seen from outside the engine thread.</summary>
public sealed record OffsetPair(
    int NearPointId,
    int FarPointId,
    OffsetEstimate Estimate,
    int Steps,
    long LastStepAtNs,
    long LastStepNs,
    long LastSampleAtNs);

/// <summary>
/// The clock-offset estimators of every pair of adjacent points on different nodes, keyed by
/// (near point, far point) as the path orders them. Owned by the engine thread.
/// </summary>
public sealed class ClockOffsets(long noiseNs)
{
    // A pair per adjacent point pair of every path; past this the map starts over rather than grow.
    private const int MaxPairs = 65_536;
    private readonly Dictionary<(int Near, int Far), ClockOffsetEstimator> _pairs = [];

    /// <summary>Bumped on every change, so a publisher can skip unchanged snapshots.</summary>
    public long Version { get; private set; }

    public int Count => _pairs.Count;

    public OffsetEstimate Observe(int nearPointId, int farPointId, long atNs, long dRequestNs, long dReplyNs)
    {
        if (!_pairs.TryGetValue((nearPointId, farPointId), out var estimator))
        {
            if (_pairs.Count >= MaxPairs)
            {
                _pairs.Clear();
            }

            estimator = new ClockOffsetEstimator(noiseNs);
            _pairs.Add((nearPointId, farPointId), estimator);
        }

        Version++;
        return estimator.Observe(atNs, dRequestNs, dReplyNs);
    }

    public IReadOnlyList<OffsetPair> Snapshot()
    {
        var pairs = new List<OffsetPair>(_pairs.Count);
        foreach (var ((near, far), estimator) in _pairs)
        {
            pairs.Add(new OffsetPair(near, far, estimator.Current, estimator.Steps, estimator.LastStepAtNs, estimator.LastStepNs,
                estimator.LastSampleAtNs));
        }

        return pairs;
    }
}
