using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class ProbesCommand
{
    public static Command Create(CliRun run)
    {
        var src = CliOptions.Address("--src", "Only probes sent by this address");
        var dst = CliOptions.Address("--dst", "Only probes sent to this address");
        var since = CliOptions.TimeBound("--since", "Only probes sent after this: an age (30s, 10m, 2h, 1d) or an RFC 3339 time", run.Context);
        var until = CliOptions.TimeBound("--until", "Only probes sent before this: an age or an RFC 3339 time", run.Context);
        var minRtt = CliOptions.Duration("--min-rtt", "Only probes with a round trip of at least this (20ms, 1.5s, 500us)");
        var lost = new Option<bool>("--lost") { Description = "Only probes that were not answered" };
        var order = CliOptions.OneOf("--order", "Newest first, or slowest first", "time", "rtt");
        var limit = CliOptions.Number("--limit", "Show at most N probes (default 100)", 1, 100_000);
        var command = new Command("probes", "List individual probes with their round trip and verdict")
        {
            src, dst, since, until, minRtt, lost, order, limit,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var (sinceNs, untilNs) = PathsCommand.Window(parse.GetValue(since), parse.GetValue(until));
            var request = new ListProbesRequest
            {
                Path = new PathFilter { Src = parse.GetValue(src) ?? "", Dst = parse.GetValue(dst) ?? "" },
                SinceNs = sinceNs,
                UntilNs = untilNs,
                MinRttNs = parse.GetValue(minRtt) ?? 0,
                LostOnly = parse.GetValue(lost),
                Order = parse.GetValue(order) ?? "time",
                Limit = (uint)(parse.GetValue(limit) ?? 0),
            };
            var response = await invocation.Connection.Client.ListProbesAsync(request, invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => ProbesView.Build(response, invocation.Today));
        }));
        return command;
    }
}
