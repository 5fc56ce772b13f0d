using HopCapture.Protos;

namespace HopCapture.Contracts.Reports;

/// <summary>
/// Loss per src → dst path and per place the lost probes vanished (segment, leg, last point):
/// a <see cref="ListLossResponse"/>. The one copy of this aggregation: the correlator feeds it rows
/// from SQLite, <c>capture analyze</c> feeds it records. Order of the probes does not matter;
/// memory is per path and per place, not per probe.
/// </summary>
public sealed class LossReportBuilder
{
    private readonly Dictionary<(string Src, string Dst), PathAccumulator> _paths = [];

    public void Add(ProbeRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        Add(record.Src, record.Dst, record.FirstTsNs, record.Answered, record.LostIn, record.LostLeg, record.LostAfter);
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

    /// <summary>Paths ordered by src then dst (ordinal, as SQLite orders TEXT); places by lost, most first.</summary>
    public ListLossResponse Build()
    {
        var response = new ListLossResponse();
        foreach (var ((src, dst), path) in _paths.OrderBy(p => p.Key.Src, StringComparer.Ordinal).ThenBy(p => p.Key.Dst, StringComparer.Ordinal))
        {
            var loss = new PathLoss
            {
                Src = src,
                Dst = dst,
                Probes = path.Probes,
                Lost = path.Lost,
                Rate = path.Probes == 0 ? 0 : (double)path.Lost / path.Probes,
                FirstTsNs = path.FirstTsNs,
                LastTsNs = path.LastTsNs,
            };

            // Ties broken on every part of the place, so the order never depends on the order the probes came in.
            foreach (var ((segment, leg, after), lost) in path.Places
                         .OrderByDescending(p => p.Value)
                         .ThenBy(p => p.Key.Segment, StringComparer.Ordinal)
                         .ThenBy(p => p.Key.Leg, StringComparer.Ordinal)
                         .ThenBy(p => p.Key.After, StringComparer.Ordinal))
            {
                loss.Places.Add(new LossPlace { Segment = segment, Leg = leg, After = after, Lost = lost, Rate = (double)lost / path.Probes });
            }

            response.Paths.Add(loss);
        }

        return response;
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
