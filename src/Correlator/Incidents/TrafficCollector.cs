using System.Globalization;
using HopCapture.Correlator.Probing;
using HopCapture.Protos;

namespace HopCapture.Correlator.Incidents;

/// <summary>What to ask one node for: interfaces by name and logical points (a bond's slaves come with it).</summary>
public sealed record TrafficTarget(string Node, IReadOnlyList<string> Interfaces, IReadOnlyList<string> Points);

/// <summary>
/// Asks agents for their traffic accounting over the control stream (<see cref="TrafficRequest"/>)
/// and waits for the answers, each node in parallel, each within a timeout. A node that is not
/// connected or does not answer becomes a problem line, not a failure: the incident keeps what
/// the others sent.
/// </summary>
public sealed class TrafficCollector(ControlHub hub)
{
    private long _next;

    public async Task<(List<TrafficWindow> Windows, List<string> Problems)> CollectAsync(
        IEnumerable<TrafficTarget> targets, long fromNs, long toNs, int top, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(targets);
        var asks = targets.Select(t => AskAsync(t, fromNs, toNs, top, timeout, cancellationToken)).ToList();
        var windows = new List<TrafficWindow>();
        var problems = new List<string>();
        foreach (var (node, report, problem) in await Task.WhenAll(asks))
        {
            if (problem is not null)
            {
                problems.Add(problem);
                continue;
            }

            foreach (var window in report!.Windows)
            {
                window.Node = node;
                IncidentContext.Name(window);
                windows.Add(window);
                if (window.Error.Length > 0)
                {
                    problems.Add($"{node}/{window.Iface}: {window.Error}");
                }
            }
        }

        return (windows, problems);
    }

    private async Task<(string Node, TrafficReport? Report, string? Problem)> AskAsync(
        TrafficTarget target, long fromNs, long toNs, int top, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var request = new TrafficRequest { FromNs = fromNs, ToNs = toNs, Top = (uint)top };
        request.Interfaces.AddRange(target.Interfaces);
        request.Points.AddRange(target.Points);
        var (result, problem) = await SendAsync(target.Node, new Control { Traffic = request }, timeout, cancellationToken);
        return (target.Node, result?.Traffic ?? (result is null ? null : new TrafficReport()), problem);
    }

    /// <summary>
    /// Sends <paramref name="control"/> (its command id is set here) to <paramref name="node"/>'s
    /// stream and waits for its result; a problem line instead when the node is away, does not
    /// answer in time or reports a failure.
    /// </summary>
    public async Task<(ControlResult? Result, string? Problem)> SendAsync(string node, Control control, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(control);
        var channel = hub.Find(node);
        if (channel is null)
        {
            return (null, $"{node}: the agent is not connected");
        }

        control.CommandId = "traffic-" + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..8];
        var answer = new TaskCompletionSource<ControlResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = hub.Await(control.CommandId, r => answer.TrySetResult(r));
        try
        {
            await channel.WriteAsync(new CorrelatorMessage { Control = control }, cancellationToken);
            var result = await answer.Task.WaitAsync(timeout, cancellationToken);
            return result.Ok ? (result, null) : (null, $"{node}: {result.Error}");
        }
        catch (TimeoutException)
        {
            return (null, $"{node}: no answer within {timeout.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s (an agent older than issue 14 ignores the request)");
        }
        catch (Exception ex) when (ex is InvalidOperationException or Grpc.Core.RpcException or IOException)
        {
            return (null, $"{node}: the request could not be sent: {ex.Message}");
        }
    }
}
