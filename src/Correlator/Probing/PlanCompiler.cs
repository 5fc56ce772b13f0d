using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using HopCapture.Correlator.Selection;
using HopCapture.Protos;

namespace HopCapture.Correlator.Probing;

/// <summary>
/// Turns the configured plans and the known agents into one <see cref="ProbePlan"/> per probing
/// node. Pure: the same inputs give the same plans and plan ids, so unchanged plans are not re-sent.
/// </summary>
public static class PlanCompiler
{
    private static readonly Role[] AddressPreference = [Role.Guest, Role.Nic, Role.Bridge, Role.Vif];

    public static Dictionary<string, ProbePlan> Compile(ProbingOptions options, IReadOnlyList<AgentInfo> agents, ICollection<string> probers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(agents);
        ArgumentNullException.ThrowIfNull(probers);
        var known = agents.Select(a => a.Node).Distinct(StringComparer.Ordinal).ToList();
        var byNode = new Dictionary<string, List<ProbeTarget>>(StringComparer.Ordinal);
        foreach (var plan in options.Plans)
        {
            var from = Expand(plan.From, options, known).Where(s => s.Node is not null).Select(s => s.Node!).Distinct(StringComparer.Ordinal);
            var to = Expand(plan.To, options, known).ToList();
            foreach (var node in from.Where(probers.Contains))
            {
                var list = byNode.TryGetValue(node, out var l) ? l : byNode[node] = [];
                foreach (var target in to)
                {
                    if (target.Node == node)
                    {
                        continue; // a full mesh never probes itself
                    }

                    var address = target.Address ?? Resolve(target.Node!, agents);
                    if (address is null || list.Any(t => t.Address == address && t.Plan == plan.Name))
                    {
                        continue;
                    }

                    list.Add(new ProbeTarget
                    {
                        Address = address,
                        Node = target.Node ?? "",
                        IntervalNs = (long)plan.Interval.TotalNanoseconds,
                        Size = (uint)plan.Size,
                        Plan = plan.Name,
                    });
                }
            }
        }

        var plans = new Dictionary<string, ProbePlan>(StringComparer.Ordinal);
        foreach (var node in probers)
        {
            var plan = new ProbePlan();
            plan.Targets.AddRange((byNode.GetValueOrDefault(node) ?? []).OrderBy(t => t.Plan, StringComparer.Ordinal).ThenBy(t => t.Address, StringComparer.Ordinal));
            plan.PlanId = Id(plan);
            plans[node] = plan;
        }

        return plans;
    }

    /// <summary>The address a node name stands for: IPv4 on a captured interface, guest first.</summary>
    public static string? Resolve(string node, IReadOnlyList<AgentInfo> agents)
    {
        ArgumentNullException.ThrowIfNull(agents);
        var agent = agents.Where(a => a.Node == node).OrderByDescending(a => a.Connected).FirstOrDefault();
        if (agent is null)
        {
            return null;
        }

        foreach (var role in AddressPreference)
        {
            foreach (var iface in agent.Interfaces.Where(i => i.Role == role))
            {
                foreach (var text in iface.Addresses)
                {
                    if (IPAddress.TryParse(text, out var address) && address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                        && !IPAddress.IsLoopback(address))
                    {
                        return address.ToString();
                    }
                }
            }
        }

        return null;
    }

    private static IEnumerable<(string? Node, string? Address)> Expand(IEnumerable<string> selectors, ProbingOptions options, List<string> known, int depth = 0)
    {
        foreach (var raw in selectors)
        {
            var selector = raw.Trim();
            if (selector.StartsWith('@'))
            {
                if (depth < 4 && options.Groups.TryGetValue(selector[1..], out var members))
                {
                    foreach (var member in Expand(members, options, known, depth + 1))
                    {
                        yield return member;
                    }
                }
            }
            else if (IPAddress.TryParse(selector, out var address))
            {
                yield return (null, address.ToString());
            }
            else
            {
                var glob = new Glob(selector);
                foreach (var node in known.Where(glob.IsMatch))
                {
                    yield return (node, null);
                }
            }
        }
    }

    private static string Id(ProbePlan plan)
    {
        var text = new StringBuilder();
        foreach (var t in plan.Targets)
        {
            text.Append(CultureInfo.InvariantCulture, $"{t.Plan}|{t.Address}|{t.IntervalNs}|{t.Size};");
        }

        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..12];
    }
}
