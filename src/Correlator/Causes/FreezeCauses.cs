using HopCapture.Correlator.Storage;
using HopCapture.Protos;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Causes;

/// <summary>
/// Attaches host evidence and cause hints to freezes, lost probes and incidents: the segment a probe
/// vanished in runs from the last point that saw it to the next point along the path (the
/// previous one for a reply); the path's order comes from the newest answered probe of the same
/// src → dst. The evidence of those two points' interfaces in the window (plus a slack for the
/// sampling interval and clock differences) is what the <see cref="CauseRules"/> read.
/// </summary>
public sealed class FreezeCauses(HostEvidenceStore evidence, ProbeQueries probes, IOptions<HostEvidenceOptions> options)
{
    private const int MaxEvidence = 500;

    public void Explain(ListFreezesResponse response, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(response);
        var paths = new Dictionary<(string, string), List<string>>();
        foreach (var freeze in response.Freezes.Where(f => !f.Silence))
        {
            var key = (freeze.Src, freeze.Dst);
            if (!paths.TryGetValue(key, out var path))
            {
                path = PathOrder(freeze.Src, freeze.Dst, cancellationToken);
                paths.Add(key, path);
            }

            var scope = Scope(path, freeze.After, freeze.Leg);
            var (found, hints) = Explain(scope, freeze.Segment, freeze.StartNs, freeze.EndNs, cancellationToken);
            freeze.Hosts.AddRange(scope);
            freeze.Evidence.AddRange(found);
            freeze.Hints.AddRange(hints);
        }
    }

    public void Explain(ProbeRecord probe, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(probe);
        if (probe.Answered || probe.LostIn.Length == 0)
        {
            return;
        }

        var scope = Scope(PathOrder(probe.Src, probe.Dst, cancellationToken), probe.LostAfter, probe.LostLeg);
        var (found, hints) = Explain(scope, probe.LostIn, probe.FirstTsNs, probe.FirstTsNs, cancellationToken);
        probe.HostEvidence.AddRange(found);
        probe.Hints.AddRange(hints);
    }

    /// <summary>An incident's segment ends (its from/to points) over the spike's window.</summary>
    public void Explain(IncidentRecord incident, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(incident);
        List<string> scope = [.. new[] { incident.FromPoint, incident.ToPoint }.Where(static p => p.Length > 0).Distinct()];
        if (scope.Count == 0)
        {
            return;
        }

        var (found, hints) = Explain(scope, incident.Segment, incident.SpikeFromNs, incident.SpikeToNs, cancellationToken);
        incident.Hosts.AddRange(scope);
        incident.HostEvidence.AddRange(found);
        incident.Hints.AddRange(hints);
    }

    /// <summary>"node/point" of the segment's two ends: the last point that saw it and the next one its packet had to reach.</summary>
    internal static List<string> Scope(List<string> path, string after, string leg)
    {
        if (after.Length == 0)
        {
            // Seen nowhere: it vanished before the first point (or the whole path is dark).
            return path.Count > 0 ? [path[0]] : [];
        }

        var i = path.IndexOf(after);
        var next = i < 0 ? -1 : leg == "reply" ? i - 1 : i + 1;
        return next >= 0 && next < path.Count ? [after, path[next]] : [after];
    }

    private (List<HostEvidence> Evidence, List<CauseHint> Hints) Explain(List<string> scope, string segment, long fromNs, long toNs, CancellationToken cancellationToken)
    {
        var slack = (long)options.Value.Slack.TotalMilliseconds * 1_000_000;
        var found = new List<HostEvidence>();
        foreach (var point in scope)
        {
            var slash = point.IndexOf('/', StringComparison.Ordinal);
            if (slash <= 0)
            {
                continue;
            }

            var (rows, _) = evidence.List(point[..slash], point[(slash + 1)..], fromNs - slack, toNs + slack, MaxEvidence, cancellationToken);
            found.AddRange(rows.Where(r => !found.Any(f => f.Node == r.Node && f.TsNs == r.TsNs && f.Device == r.Device && f.Name == r.Name)));
        }

        found.Sort((a, b) => a.TsNs.CompareTo(b.TsNs));
        var nodes = scope.Select(p => p.Split('/')[0]).Distinct().ToList();
        return (found, CauseRules.Hints(segment, nodes, found));
    }

    private List<string> PathOrder(string src, string dst, CancellationToken cancellationToken)
    {
        var (answered, _) = probes.ListProbes(new ProbeFilter(src, dst, MinRttNs: 1, Limit: 1), cancellationToken);
        return answered.Count == 0 ? [] : [.. answered[0].Points.Select(p => p.Node + "/" + p.Point)];
    }
}
