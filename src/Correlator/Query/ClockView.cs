using System.Globalization;
using HopCapture.Contracts.Mapping;
using HopCapture.Engine.Direction;
using HopCapture.Engine.Model;
using HopCapture.Protos;

namespace HopCapture.Correlator.Query;

/// <summary>
/// The clock side of <c>capture agents</c>: every estimated offset between adjacent points, and
/// per agent the reasons not to trust its clock (the kernel says unsynchronised; its offset stepped).
/// </summary>
internal static class ClockView
{
    public static void Fill(ListAgentsResponse response, IReadOnlyList<OffsetPair> offsets, InterfaceCatalog catalog)
    {
        var stepsByNode = new Dictionary<string, (int Steps, long LastNs)>(StringComparer.Ordinal);
        foreach (var pair in offsets.OrderBy(p => p.NearPointId).ThenBy(p => p.FarPointId))
        {
            var near = catalog.Point(pair.NearPointId);
            var far = catalog.Point(pair.FarPointId);
            response.Offsets.Add(new ClockOffset
            {
                NearNode = near.Node,
                NearPoint = near.Point,
                FarNode = far.Node,
                FarPoint = far.Point,
                OffsetNs = pair.Estimate.OffsetNs,
                UncertaintyNs = pair.Estimate.UncertaintyNs,
                State = pair.Estimate.State switch
                {
                    OffsetState.Locked => "locked",
                    OffsetState.StepSuspected => "step suspected",
                    _ => "converging",
                },
                Samples = (uint)pair.Estimate.Samples,
                Steps = (uint)pair.Steps,
                LastStepAtNs = pair.LastStepAtNs,
                LastStepNs = pair.LastStepNs,
                LastSampleNs = pair.LastSampleAtNs,
            });

            if (pair.Steps > 0)
            {
                // A step shows on the pair; which of the two clocks jumped is not known from one
                // pair, so both nodes are flagged and the one flagged on every pair is the culprit.
                foreach (var node in (string[])[near.Node, far.Node])
                {
                    var known = stepsByNode.GetValueOrDefault(node);
                    stepsByNode[node] = (known.Steps + pair.Steps, Math.Abs(pair.LastStepNs) > Math.Abs(known.LastNs) ? pair.LastStepNs : known.LastNs);
                }
            }
        }

        foreach (var agent in response.Agents)
        {
            if (agent.Clock is { Synchronized: false, Source: not ("" or "unknown") })
            {
                agent.ClockFlags.Add("unsynchronised");
            }

            if (stepsByNode.TryGetValue(agent.Node, out var steps))
            {
                agent.ClockFlags.Add(string.Create(CultureInfo.InvariantCulture,
                    $"offset stepped {steps.Steps}× (largest {Durations.Format(steps.LastNs)})"));
            }
        }
    }
}
