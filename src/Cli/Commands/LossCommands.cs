using System.CommandLine;
using HopCapture.Cli.Rendering;
using HopCapture.Analysis.Loss;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary><c>capture loss</c> and <c>capture freezes</c>: where probes vanish, and for how long at a time.</summary>
internal static class LossCommands
{
    public static Command Loss(CliRun run)
    {
        var filters = new ProbeFilterOptions(run);
        var command = new Command("loss", "Loss per path and per segment: how many probes vanished, where, and on which leg");
        filters.AddTo(command);
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var (path, sinceNs, untilNs) = filters.Read(invocation.Parse);
            var request = new ListLossRequest
            {
                Path = path,
                SinceNs = sinceNs,
                UntilNs = untilNs,
            };
            var response = await invocation.Connection.Client.ListLossAsync(request, invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => Tables.WithResolution(LossView.Build(response), response.Resolution));
        }));
        return command;
    }

    public static Command Freezes(CliRun run)
    {
        var filters = new ProbeFilterOptions(run);
        var minLost = MinLostOption();
        var command = new Command("freezes", "Runs of consecutive lost probes (or silences) per ping run: when, how long, how many, where; and whether they recur");
        filters.AddTo(command);
        command.Options.Add(minLost);
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var (path, sinceNs, untilNs) = filters.Read(invocation.Parse);
            var request = new ListFreezesRequest
            {
                Path = path,
                SinceNs = sinceNs,
                UntilNs = untilNs,
                MinLost = (uint)(invocation.Parse.GetValue(minLost) ?? 0),
            };
            var response = await invocation.Connection.Client.ListFreezesAsync(request, invocation.Connection.Unary(cancellationToken));
            return invocation.Show(response, () => Tables.WithResolution(FreezesView.Build(response, invocation.Today), response.Resolution));
        }));
        return command;
    }

    /// <summary>--min-lost, shared with <c>capture analyze</c>.</summary>
    public static Option<long?> MinLostOption() =>
        CliOptions.Number("--min-lost", $"Consecutive lost probes that make a freeze (default {PingRun.DefaultMinLost})", 1, 65_535);
}
