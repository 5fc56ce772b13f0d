using System.CommandLine;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class PathsCommand
{
    public static Command Create(CliRun run)
    {
        var since = CliOptions.TimeBound("--since", "Only probes sent after this: an age (30s, 10m, 2h, 1d) or an RFC 3339 time", run.Context);
        var until = CliOptions.TimeBound("--until", "Only probes sent before this: an age or an RFC 3339 time", run.Context);
        var command = new Command("paths", "Summarise every src → dst path: loss, RTT p50/p99/max, and the segment holding the delay")
        {
            since,
            until,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var (sinceNs, untilNs) = Window(invocation.Parse.GetValue(since), invocation.Parse.GetValue(until));
            var response = await invocation.Connection.Client.ListPathsAsync(
                new ListPathsRequest { SinceNs = sinceNs, UntilNs = untilNs },
                invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => Tables.WithResolution(PathsView.Build(response), response.Resolution));
        }));
        return command;
    }

    /// <summary>Both bounds as unix ns (0 = unbounded), refusing a window that ends before it starts.</summary>
    public static (long Since, long Until) Window(long? since, long? until)
    {
        if (since is { } s && until is { } u && s >= u)
        {
            throw new CliUsageException("--since must be earlier than --until");
        }

        return (since ?? 0, until ?? 0);
    }
}
