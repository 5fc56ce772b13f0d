using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary><c>capture loss</c> and <c>capture freezes</c>: where probes vanish, and for how long at a time.</summary>
internal static class LossCommands
{
    public static Command Loss(CliRun run)
    {
        var (src, dst, since, until) = Filters(run);
        var command = new Command("loss", "Loss per path and per segment: how many probes vanished, where, and on which leg")
        {
            src, dst, since, until,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var (sinceNs, untilNs) = PathsCommand.Window(parse.GetValue(since), parse.GetValue(until));
            var request = new ListLossRequest
            {
                Path = new PathFilter { Src = parse.GetValue(src) ?? "", Dst = parse.GetValue(dst) ?? "" },
                SinceNs = sinceNs,
                UntilNs = untilNs,
            };
            var response = await invocation.Connection.Client.ListLossAsync(request, invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => LossView.Build(response));
        }));
        return command;
    }

    public static Command Freezes(CliRun run)
    {
        var (src, dst, since, until) = Filters(run);
        var minLost = CliOptions.Number("--min-lost", "Consecutive lost probes that make a freeze (default 3)", 1, 65_535);
        var command = new Command("freezes", "Runs of consecutive lost probes (or silences) per ping run: when, how long, how many, where; and whether they recur")
        {
            src, dst, since, until, minLost,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var (sinceNs, untilNs) = PathsCommand.Window(parse.GetValue(since), parse.GetValue(until));
            var request = new ListFreezesRequest
            {
                Path = new PathFilter { Src = parse.GetValue(src) ?? "", Dst = parse.GetValue(dst) ?? "" },
                SinceNs = sinceNs,
                UntilNs = untilNs,
                MinLost = (uint)(parse.GetValue(minLost) ?? 0),
            };
            var response = await invocation.Connection.Client.ListFreezesAsync(request, invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => FreezesView.Build(response, invocation.Today));
        }));
        return command;
    }

    private static (Option<string?> Src, Option<string?> Dst, Option<long?> Since, Option<long?> Until) Filters(CliRun run) => (
        CliOptions.Address("--src", "Only probes sent by this address"),
        CliOptions.Address("--dst", "Only probes sent to this address"),
        CliOptions.TimeBound("--since", "Only probes sent after this: an age (30s, 10m, 2h, 1d) or an RFC 3339 time", run.Context),
        CliOptions.TimeBound("--until", "Only probes sent before this: an age or an RFC 3339 time", run.Context));
}
