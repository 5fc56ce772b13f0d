using HopCapture.Analysis.Probes;
using HopCapture.Engine.Correlation;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;

namespace HopCapture.Analysis.Driver;

/// <summary>
/// Drives the correlation engine the one way the correlator and <c>capture analyze</c> both run
/// it: observations in with the time they arrived (the correlator's clock; capture time for a
/// time-ordered merge of files), a finalising turn every <see cref="AdvanceEvery"/> of that
/// clock, everything flushed at the end, and each finalised result handed on as a domain
/// <see cref="Probe"/>. Single-threaded, like the engine it owns.
/// </summary>
public sealed class EngineDriver
{
    /// <summary>How often (in driving-clock time) the engine is asked to finalise.</summary>
    public static readonly TimeSpan AdvanceEvery = TimeSpan.FromMilliseconds(100);

    private static readonly long AdvanceEveryNs = (long)AdvanceEvery.TotalNanoseconds;

    private readonly List<ProbeResult> _results = [];
    private long _nextAdvanceNs = long.MinValue;
    private long _offsetsVersion = -1;
    private IReadOnlyList<OffsetPair> _offsets = [];

    public EngineDriver(EngineOptions options, InterfaceCatalog catalog)
    {
        Engine = new CorrelationEngine(options, catalog);
    }

    public CorrelationEngine Engine { get; }

    public InterfaceCatalog Catalog => Engine.Catalog;

    public EngineOptions Options => Engine.Options;

    public EngineCounters Counters => Engine.Counters;

    public int InFlight => Engine.InFlight;

    /// <summary>Clock offsets between adjacent points as of the last turn; a new list only when they changed.</summary>
    public IReadOnlyList<OffsetPair> Offsets => _offsets;

    public void Add(in Observation observation, long arrivalNs) => Engine.Add(observation, arrivalNs);

    /// <summary>How many probes <paramref name="observations"/> would start (at most; see <see cref="CorrelationEngine.NewProbes"/>).</summary>
    public int NewProbes(ReadOnlySpan<Observation> observations) => Engine.NewProbes(observations);

    /// <summary>Whether <paramref name="observation"/> joins a probe in flight or recently finalised.</summary>
    public bool Joins(in Observation observation) => Engine.Joins(observation);

    /// <summary>When the next turn is due (driving-clock ns); long.MinValue before the first.</summary>
    public long NextAdvanceNs => _nextAdvanceNs;

    /// <summary>Whether a turn is due at <paramref name="nowNs"/> (one <see cref="AdvanceEvery"/> after the last).</summary>
    public bool Due(long nowNs) => nowNs >= _nextAdvanceNs;

    /// <summary>A finalising turn: every probe settled or timed out by <paramref name="nowNs"/> goes to <paramref name="finalized"/>.</summary>
    public void Advance(long nowNs, ICollection<Probe> finalized)
    {
        ArgumentNullException.ThrowIfNull(finalized);
        _nextAdvanceNs = nowNs + AdvanceEveryNs;
        try
        {
            Engine.Advance(nowNs, _results);
        }
        finally
        {
            Hand(finalized);
            if (Engine.Offsets.Version != _offsetsVersion)
            {
                _offsetsVersion = Engine.Offsets.Version;
                _offsets = Engine.Offsets.Snapshot();
            }
        }
    }

    /// <summary>Finalises everything in flight, complete or not (shutdown, end of input).</summary>
    public void Flush(ICollection<Probe> finalized)
    {
        ArgumentNullException.ThrowIfNull(finalized);
        try
        {
            Engine.Flush(_results);
        }
        finally
        {
            Hand(finalized);
        }
    }

    private void Hand(ICollection<Probe> finalized)
    {
        foreach (var result in _results)
        {
            finalized.Add(new Probe(result, Engine.Catalog));
        }

        _results.Clear();
    }
}
