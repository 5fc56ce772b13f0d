using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class ProbesCommand
{
    public static Command Create(CliRun run)
    {
        var filters = new ProbeFilterOptions(run);
        var minRtt = CliOptions.Duration("--min-rtt", "Only probes with a round trip of at least this (20ms, 1.5s, 500us)");
        var lost = new Option<bool>("--lost") { Description = "Only probes that were not answered" };
        var order = CliOptions.OneOf("--order", "Newest first, or slowest first", "time", "rtt");
        var limit = CliOptions.Number("--limit", "Show at most N probes (default 100)", 1, 100_000);
        var command = new Command("probes", "List individual probes with their round trip and verdict");
        filters.AddTo(command);
        foreach (var option in (Option[])[minRtt, lost, order, limit])
        {
            command.Options.Add(option);
        }
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var (path, sinceNs, untilNs) = filters.Read(parse);
            var request = new ListProbesRequest
            {
                Path = path,
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
