using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class AgentsCommand
{
    public static Command Create(CliRun run)
    {
        var command = new Command("agents", "List capture agents: interfaces, capture and upload drops, clock state, and engine counters");
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var response = await invocation.Connection.Client.ListAgentsAsync(
                new ListAgentsRequest(), invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => AgentsView.Build(response, invocation.Now));
        }));
        return command;
    }
}
