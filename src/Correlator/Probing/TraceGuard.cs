using System.Net;
using HopCapture.Protos;

namespace HopCapture.Correlator.Probing;

/// <summary>
/// What `capture trace` may make an agent do: ping only addresses inside what HopCapture watches
/// (loopback, an address a connected or remembered agent reports, a plan's IP target, or an entry
/// of <see cref="ProbingOptions.TraceAllow"/>), and only within a per-node budget of concurrent
/// traces and probes per second — so the trace API cannot be used to point a cluster's agents
/// at an arbitrary host.
/// </summary>
public sealed class TraceGuard
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, (int Traces, double Rate)> _running = new(StringComparer.Ordinal);

    /// <summary>Null when <paramref name="target"/> may be traced, otherwise why not (one line, naming the setting).</summary>
    public static string? Refusal(IPAddress target, ProbingOptions options, IReadOnlyList<AgentInfo> agents)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(agents);
        if (IPAddress.IsLoopback(target))
        {
            return null;
        }

        foreach (var agent in agents)
        {
            foreach (var iface in agent.Interfaces)
            {
                foreach (var text in iface.Addresses)
                {
                    if (Parse(text) is { } address && address.Equals(target))
                    {
                        return null;
                    }
                }
            }
        }

        foreach (var plan in options.Plans)
        {
            if (plan.To.Any(to => Parse(to) is { } address && address.Equals(target)))
            {
                return null;
            }
        }

        foreach (var allowed in options.TraceAllow)
        {
            if (Matches(allowed, target))
            {
                return null;
            }
        }

        return $"trace target {target} is neither a monitored node's address nor a plan target: add it (or its network) to {ProbingOptions.SectionName}:TraceAllow";
    }

    /// <summary>
    /// Reserves room for a trace of <paramref name="ratePerSecond"/> probes from <paramref name="node"/>;
    /// null with <paramref name="refusal"/> set when the node's budget has no room. Dispose the lease when the trace ends.
    /// </summary>
    public IDisposable? TryReserve(string node, double ratePerSecond, ProbingOptions options, out string refusal)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(options);
        lock (_gate)
        {
            var (traces, rate) = _running.GetValueOrDefault(node);
            if (traces >= options.TraceMaxConcurrent)
            {
                refusal = $"node '{node}' already runs {traces} traces ({ProbingOptions.SectionName}:TraceMaxConcurrent = {options.TraceMaxConcurrent}): wait for one to end";
                return null;
            }

            if (rate + ratePerSecond > options.TraceMaxRate)
            {
                refusal = $"a trace of {ratePerSecond:0.#} probes/s from node '{node}' would exceed its budget of {options.TraceMaxRate} probes/s " +
                          $"({rate:0.#} in use; {ProbingOptions.SectionName}:TraceMaxRate): use a longer --interval or wait";
                return null;
            }

            _running[node] = (traces + 1, rate + ratePerSecond);
            refusal = "";
            return new Lease(this, node, ratePerSecond);
        }
    }

    private void Release(string node, double ratePerSecond)
    {
        lock (_gate)
        {
            var (traces, rate) = _running.GetValueOrDefault(node);
            if (traces <= 1)
            {
                _running.Remove(node);
            }
            else
            {
                _running[node] = (traces - 1, Math.Max(0, rate - ratePerSecond));
            }
        }
    }

    /// <summary>An address ("192.0.2.9") or a network ("10.77.0.0/16", "fd00::/8").</summary>
    public static bool IsEntry(string text) => Matches(text, IPAddress.Loopback) || Parse(text) is not null || IPNetwork.TryParse(text.Trim(), out _);

    private static bool Matches(string entry, IPAddress target)
    {
        var text = entry.Trim();
        if (IPNetwork.TryParse(text, out var network))
        {
            return network.Contains(target.IsIPv4MappedToIPv6 ? target.MapToIPv4() : target);
        }

        return Parse(text) is { } address && address.Equals(target);
    }

    private static IPAddress? Parse(string text)
    {
        var trimmed = text.Trim();
        var slash = trimmed.IndexOf('/', StringComparison.Ordinal);
        return IPAddress.TryParse(slash > 0 ? trimmed[..slash] : trimmed, out var address) ? address : null;
    }

    private sealed class Lease(TraceGuard owner, string node, double rate) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                owner.Release(node, rate);
            }
        }
    }
}
