using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class AlertsCommand
{
    public static Command Create(CliRun run)
    {
        var since = CliOptions.TimeBound("--since", "Also list alerts resolved after this (default 24h): an age or an RFC 3339 time", run.Context);
        var limit = CliOptions.Number("--limit", "At most this many stored alerts (default 100)", 1, 10_000);
        var command = new Command("alerts", "Pending and firing alerts, and recently resolved ones: rule, path, segment, leg, value, worst probes")
        {
            since,
            limit,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var response = await invocation.Connection.Client.ListAlertsAsync(
                new ListAlertsRequest { SinceNs = invocation.Parse.GetValue(since) ?? 0, Limit = (uint)(invocation.Parse.GetValue(limit) ?? 0) },
                invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => AlertsView.Build(response, invocation.Now));
        }));
        return command;
    }
}
