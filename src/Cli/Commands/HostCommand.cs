using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary><c>capture host</c>: the host evidence timeline one agent recorded (issue 15).</summary>
internal static class HostCommand
{
    private const int DefaultLimit = 1000;
    private const long DefaultWindowNs = 600L * 1_000_000_000;

    public static Command Create(CliRun run)
    {
        var node = new Option<string>("--node") { Description = "The agent's node name", Required = true };
        var iface = new Option<string?>("--iface") { Description = "Only this device or capture interface (and the bridge or bond it hangs off)" };
        var since = CliOptions.TimeBound("--since", "Only changes after this: an age (30s, 10m, 2h, 1d) or an RFC 3339 time (default 10m)", run.Context);
        var until = CliOptions.TimeBound("--until", "Only changes before this: an age or an RFC 3339 time", run.Context);
        var limit = CliOptions.Number("--limit", $"At most this many changes, the newest (default {DefaultLimit})", 1, 10_000);
        var command = new Command("host", "Host evidence of one node: carrier flips, drop and error counters, qdisc drops, bridge STP port states, kernel lines")
        {
            node, iface, since, until, limit,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var (sinceNs, untilNs) = PathsCommand.Window(parse.GetValue(since) ?? (invocation.Now.ToUnixTimeMilliseconds() * 1_000_000) - DefaultWindowNs, parse.GetValue(until));
            var request = new ListHostEvidenceRequest
            {
                Node = parse.GetValue(node) ?? "",
                Iface = parse.GetValue(iface) ?? "",
                SinceNs = sinceNs,
                UntilNs = untilNs,
                Limit = (uint)(parse.GetValue(limit) ?? DefaultLimit),
            };
            var response = await invocation.Connection.Client.ListHostEvidenceAsync(request, invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => HostView.Build(response, request.Node, invocation.Today));
        }));
        return command;
    }
}
