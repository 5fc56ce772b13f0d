using System.CommandLine;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class ProbesCommand
{
    /// <summary>The correlator's cap on one ListProbes answer (QueryService.MaxLimit); more is an export (--all).</summary>
    public const int MaxLimit = 10_000;

    public static Command Create(CliRun run)
    {
        var filters = new ProbeFilterOptions(run);
        var minRtt = CliOptions.Duration("--min-rtt", "Only probes with a round trip of at least this (20ms, 1.5s, 500us)");
        var lost = new Option<bool>("--lost") { Description = "Only probes that were not answered" };
        var order = CliOptions.OneOf("--order", "Newest first, or slowest first", "time", "rtt");
        var limit = CliOptions.Number("--limit", $"Show at most N probes (default 100, at most {MaxLimit}; --all for every one)", 1, MaxLimit);
        var all = new Option<bool>("--all")
        {
            Description = "Every matching probe, newest first, printed as it arrives (no cap; --json: one probe per line). Not with --limit or --order rtt",
        };
        var command = new Command("probes", "List individual probes with their round trip and verdict");
        filters.AddTo(command);
        foreach (var option in (Option[])[minRtt, lost, order, limit, all])
        {
            command.Options.Add(option);
        }
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var (path, sinceNs, untilNs) = filters.Read(parse);
            if (parse.GetValue(all))
            {
                if (parse.GetResult(limit) is not null)
                {
                    throw new CliUsageException("--all prints every matching probe; leave out --limit");
                }

                if (parse.GetValue(order) == "rtt")
                {
                    throw new CliUsageException("--all exports newest first; slowest first (--order rtt) takes --limit, at most " + MaxLimit);
                }

                var export = new ExportProbesRequest
                {
                    Path = path,
                    SinceNs = sinceNs,
                    UntilNs = untilNs,
                    MinRttNs = parse.GetValue(minRtt) ?? 0,
                    LostOnly = parse.GetValue(lost),
                };
                return await ProbesExport.RunAsync(invocation, export, parse.GetValue(run.Timeout) is not null, run.AddressText, cancellationToken);
            }

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
