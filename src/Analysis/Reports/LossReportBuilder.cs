using HopCapture.Analysis.Probes;

namespace HopCapture.Analysis.Reports;

/// <summary>Probes of a path lost at one place: segment, leg and the "node/point" that saw them last.</summary>
/// <param name="Rate">Lost here over all probes of the path.</param>
public sealed record LossPlaceStats(string Segment, string Leg, string After, ulong Lost, double Rate);

/// <summary>Loss on one src → dst path, with its places by lost, most first.</summary>
public sealed record PathLossStats(
    string Src,
    string Dst,
    ulong Probes,
    ulong Lost,
    double Rate,
    long FirstTsNs,
    long LastTsNs,
    IReadOnlyList<LossPlaceStats> Places);

/// <summary>Loss per path, ordered by src then dst (ordinal).</summary>
public sealed record LossReport(IReadOnlyList<PathLossStats> Paths);

/// <summary>
/// Loss per src → dst path and per place the lost probes vanished (segment, leg, last point):
/// a <see cref="LossReport"/>. The one copy of this aggregation: the correlator feeds it rows
/// from SQLite, <c>capture analyze</c> feeds it probes. Order of the probes does not matter;
/// memory is per path and per place, not per probe.
/// </summary>
public sealed class LossReportBuilder
{
    private readonly Dictionary<(string Src, string Dst), PathAccumulator> _paths = [];

    public void Add(Probe probe)
    {
        ArgumentNullException.ThrowIfNull(probe);
        Add(probe.Src, probe.Dst, probe.FirstTsNs, probe.Answered, probe.LostInName, probe.LostLegName, probe.LostAfterName);
    }

    /// <summary>One probe; <paramref name="lostIn"/>, <paramref name="lostLeg"/> and <paramref name="lostAfter"/> only count when it was not answered.</summary>
    public void Add(string src, string dst, long timestampNs, bool answered, string lostIn, string lostLeg, string lostAfter)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentNullException.ThrowIfNull(dst);
        if (!_paths.TryGetValue((src, dst), out var path))
        {
            path = new PathAccumulator(timestampNs);
            _paths.Add((src, dst), path);
        }

        path.Probes++;
        path.FirstTsNs = Math.Min(path.FirstTsNs, timestampNs);
        path.LastTsNs = Math.Max(path.LastTsNs, timestampNs);
        if (!answered)
        {
            path.Lost++;
            var key = (lostIn ?? "", lostLeg ?? "", lostAfter ?? "");
            path.Places[key] = path.Places.GetValueOrDefault(key) + 1;
        }
    }

    /// <summary>
    /// Probes counted elsewhere (a rollup row): <paramref name="probes"/> of which
    /// <paramref name="lost"/> vanished at one place, capture times within [first, last].
    /// </summary>
    public void Add(string src, string dst, long firstTsNs, long lastTsNs, ulong probes, ulong lost, string lostIn, string lostLeg, string lostAfter)
    {
        ArgumentNullException.ThrowIfNull(src);
        ArgumentNullException.ThrowIfNull(dst);
        if (!_paths.TryGetValue((src, dst), out var path))
        {
            path = new PathAccumulator(firstTsNs);
            _paths.Add((src, dst), path);
        }

        path.Probes += probes;
        path.FirstTsNs = Math.Min(path.FirstTsNs, firstTsNs);
        path.LastTsNs = Math.Max(path.LastTsNs, lastTsNs);
        if (lost > 0)
        {
            path.Lost += lost;
            var key = (lostIn ?? "", lostLeg ?? "", lostAfter ?? "");
            path.Places[key] = path.Places.GetValueOrDefault(key) + lost;
        }
    }

    /// <summary>Paths ordered by src then dst (ordinal, as SQLite orders TEXT); places by lost, most first.</summary>
    public LossReport Build()
    {
        var paths = new List<PathLossStats>(_paths.Count);
        foreach (var ((src, dst), path) in _paths.OrderBy(p => p.Key.Src, StringComparer.Ordinal).ThenBy(p => p.Key.Dst, StringComparer.Ordinal))
        {
            // Ties broken on every part of the place, so the order never depends on the order the probes came in.
            var places = path.Places
                .OrderByDescending(p => p.Value)
                .ThenBy(p => p.Key.Segment, StringComparer.Ordinal)
                .ThenBy(p => p.Key.Leg, StringComparer.Ordinal)
                .ThenBy(p => p.Key.After, StringComparer.Ordinal)
                .Select(p => new LossPlaceStats(p.Key.Segment, p.Key.Leg, p.Key.After, p.Value, (double)p.Value / path.Probes))
                .ToArray();
            paths.Add(new PathLossStats(
                src,
                dst,
                path.Probes,
                path.Lost,
                Rate: path.Probes == 0 ? 0 : (double)path.Lost / path.Probes,
                path.FirstTsNs,
                path.LastTsNs,
                places));
        }

        return new LossReport(paths);
    }

    private sealed class PathAccumulator(long firstTsNs)
    {
        public Dictionary<(string Segment, string Leg, string After), ulong> Places { get; } = [];

        public ulong Probes { get; set; }

        public ulong Lost { get; set; }

        public long FirstTsNs { get; set; } = firstTsNs;

        public long LastTsNs { get; set; } = firstTsNs;
    }
}
