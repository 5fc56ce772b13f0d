namespace HopCapture.Engine.Direction;

/// <summary>
/// NTP-style offset between the clocks of two adjacent points, from the probes themselves.
/// </summary>
/// <remarks>
/// Each answered probe gives d_req = t_far(req) − t_near(req) = leg_req + θ and
/// d_rep = t_near(rep) − t_far(rep) = leg_rep − θ, so θ_s = (d_req − d_rep)/2 lies within
/// cost/2 of the true θ (both legs are ≥ 0). The cheapest probes bound θ tightest, so the
/// estimator keeps the cheapest sample of every one-second bucket over the last two minutes
/// (a min-filter that forgets, so it follows drift) and estimates from the most recent cheap
/// buckets: median θ, uncertainty = half the cheapest cost plus half the spread. A sample
/// outside the physical bound of the estimate is evidence of a clock step; it is kept out of
/// the filter, and only <see cref="StepConfirm"/> such samples in a row that agree with each
/// other restart the filter, so one glitch never poisons it and a real step re-converges at once.
/// Fixed-size arrays, no allocation per sample.
/// </remarks>
public sealed class ClockOffsetEstimator
{
    public const long BucketNs = 1_000_000_000;
    public const int Buckets = 120;
    public const int MinSamples = 3;
    public const int StepConfirm = 3;
    private const int Selected = 8;

    private readonly Bucket[] _buckets = new Bucket[Buckets];
    private readonly Sample[] _suspects = new Sample[StepConfirm];
    private readonly long _noiseNs;
    private int _newest = -1;
    private int _suspectCount;
    private long _minCostNs;
    private OffsetEstimate _estimate;

    /// <param name="noiseNs">Capture timestamp noise; margins below it are never trusted.</param>
    public ClockOffsetEstimator(long noiseNs)
    {
        _noiseNs = Math.Max(1, noiseNs);
    }

    public OffsetEstimate Current => _estimate;

    public int Samples { get; private set; }

    public int Steps { get; private set; }

    /// <summary>When the last step was confirmed (near point's clock), 0 if never.</summary>
    public long LastStepAtNs { get; private set; }

    /// <summary>How far θ jumped at the last step.</summary>
    public long LastStepNs { get; private set; }

    public long LastSampleAtNs { get; private set; }

    /// <summary>Feeds one answered probe's segment and returns the estimate to split it with.</summary>
    public OffsetEstimate Observe(long atNs, long dRequestNs, long dReplyNs)
    {
        var cost = dRequestNs + dReplyNs;
        if (cost < 0)
        {
            // Cannot happen for points ordered by round trip; never let it into the filter.
            return _estimate;
        }

        LastSampleAtNs = atNs;
        var sample = new Sample(atNs, cost, (dRequestNs - dReplyNs) / 2);
        if (_estimate.State != OffsetState.Converging && !Consistent(sample))
        {
            return Suspect(sample);
        }

        _suspectCount = 0;
        if (Insert(sample) || _estimate.State == OffsetState.Converging)
        {
            Recompute();
        }
        else
        {
            // Not cheaper than its second's best: the filter, and so the estimate, is unchanged.
            _estimate = _estimate with { Samples = Samples };
        }

        return _estimate;
    }

    /// <summary>Within the physical bound of the estimate, with a margin for noise and a little drift.</summary>
    private bool Consistent(in Sample sample)
    {
        var deviation = Math.Abs(sample.ThetaNs - _estimate.OffsetNs);
        var margin = Math.Max(2 * _noiseNs, 4 * _estimate.UncertaintyNs);
        return deviation <= sample.CostNs / 2 + _estimate.UncertaintyNs + margin;
    }

    private OffsetEstimate Suspect(in Sample sample)
    {
        // A suspect that disagrees with the earlier suspects starts a new run: steps are confirmed
        // only by samples that agree on the new offset.
        if (_suspectCount > 0)
        {
            var previous = _suspects[_suspectCount - 1];
            var bound = (previous.CostNs + sample.CostNs) / 2 + 2 * _noiseNs;
            if (Math.Abs(previous.ThetaNs - sample.ThetaNs) > bound)
            {
                _suspectCount = 0;
            }
        }

        _suspects[_suspectCount++] = sample;
        if (_suspectCount < StepConfirm)
        {
            return _estimate with { State = OffsetState.StepSuspected };
        }

        var old = _estimate.OffsetNs;
        Array.Clear(_buckets);
        _newest = -1;
        Samples = 0;
        foreach (var suspect in _suspects)
        {
            _ = Insert(suspect);
        }

        _suspectCount = 0;
        Recompute();
        Steps++;
        LastStepAtNs = _suspects[0].AtNs;
        LastStepNs = _estimate.OffsetNs - old;
        return _estimate;
    }

    /// <summary>Adds a sample to the filter; false when no bucket's best changed.</summary>
    private bool Insert(in Sample sample)
    {
        Samples++;
        var start = sample.AtNs - (sample.AtNs % BucketNs);
        if (_newest < 0)
        {
            _newest = 0;
            _buckets[0] = new Bucket(start, sample);
            return true;
        }

        ref var newest = ref _buckets[_newest];
        if (start == newest.StartNs)
        {
            if (sample.CostNs < newest.Best.CostNs)
            {
                newest.Best = sample;
                return true;
            }

            return false;
        }

        if (start < newest.StartNs && start > newest.StartNs - BucketNs * Buckets)
        {
            // A late sample for an older bucket: probes finalise slightly out of order.
            for (var i = 0; i < Buckets; i++)
            {
                ref var bucket = ref _buckets[i];
                if (bucket.Live && bucket.StartNs == start)
                {
                    if (sample.CostNs < bucket.Best.CostNs)
                    {
                        bucket.Best = sample;
                        return true;
                    }

                    return false;
                }
            }

            // That second had no bucket of its own; its newer neighbours already bound θ as well.
            return false;
        }

        // A new bucket (or the clock went backwards: that is the newest bucket all the same).
        _newest = (_newest + 1) % Buckets;
        _buckets[_newest] = new Bucket(start, sample);
        return true;
    }

    private void Recompute()
    {
        var horizon = _buckets[_newest].StartNs - BucketNs * Buckets;
        _minCostNs = long.MaxValue;
        foreach (ref readonly var bucket in _buckets.AsSpan())
        {
            if (bucket.Live && bucket.StartNs > horizon && bucket.Best.CostNs < _minCostNs)
            {
                _minCostNs = bucket.Best.CostNs;
            }
        }

        // The most recent cheap buckets, newest first: cheap enough to bound θ about as well as the best.
        var cheap = 2 * _minCostNs + _noiseNs;
        Span<long> thetas = stackalloc long[Selected];
        var count = 0;
        for (var k = 0; k < Buckets && count < Selected; k++)
        {
            ref readonly var bucket = ref _buckets[(_newest - k + Buckets) % Buckets];
            if (bucket.Live && bucket.StartNs > horizon && bucket.Best.CostNs <= cheap)
            {
                thetas[count++] = bucket.Best.ThetaNs;
            }
        }

        var chosen = thetas[..count];
        chosen.Sort();
        var median = count % 2 == 1 ? chosen[count / 2] : (chosen[count / 2 - 1] + chosen[count / 2]) / 2;
        var spread = chosen[^1] - chosen[0];
        var uncertainty = _minCostNs / 2 + spread / 2;
        _estimate = new OffsetEstimate(median, uncertainty, Samples >= MinSamples ? OffsetState.Locked : OffsetState.Converging, Samples);
    }

    private readonly record struct Sample(long AtNs, long CostNs, long ThetaNs);

    private struct Bucket(long startNs, Sample best)
    {
        public long StartNs = startNs;
        public Sample Best = best;
        public bool Live = true;
    }
}
