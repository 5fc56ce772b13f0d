using System.CommandLine;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary>
/// The path and time filters probes, loss and freezes share: one definition of the flags, their
/// help text and how they become a <see cref="PathFilter"/> and a window.
/// </summary>
internal sealed class ProbeFilterOptions(CliRun run)
{
    public Option<string?> Src { get; } = CliOptions.Address("--src", "Only probes sent by this address");

    public Option<string?> Dst { get; } = CliOptions.Address("--dst", "Only probes sent to this address");

    public Option<long?> Since { get; } =
        CliOptions.TimeBound("--since", "Only probes sent after this: an age (30s, 10m, 2h, 1d) or an RFC 3339 time", run.Context);

    public Option<long?> Until { get; } = CliOptions.TimeBound("--until", "Only probes sent before this: an age or an RFC 3339 time", run.Context);

    public void AddTo(Command command)
    {
        command.Options.Add(Src);
        command.Options.Add(Dst);
        command.Options.Add(Since);
        command.Options.Add(Until);
    }

    public (PathFilter Path, long SinceNs, long UntilNs) Read(ParseResult parse)
    {
        var (sinceNs, untilNs) = PathsCommand.Window(parse.GetValue(Since), parse.GetValue(Until));
        return (new PathFilter { Src = parse.GetValue(Src) ?? "", Dst = parse.GetValue(Dst) ?? "" }, sinceNs, untilNs);
    }
}
