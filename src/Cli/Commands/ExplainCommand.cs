using System.CommandLine;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class ExplainCommand
{
    public static Command Create(CliRun run)
    {
        var id = new Argument<long?>("ID")
        {
            Description = "Probe id, as shown by probes, paths (worst probe) and watch --json",
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = result => CliOptions.ParseNumber(result, "ID", 1, long.MaxValue),
        };
        var src = CliOptions.Address("--src", "Look the probe up by key instead: its source address");
        var dst = CliOptions.Address("--dst", "The probe's destination address");
        var seq = CliOptions.Number("--seq", "ICMP sequence number, as ping prints icmp_seq (the newest match is shown)", 0, ushort.MaxValue);
        var icmpId = CliOptions.Number("--id", "ICMP identifier, when several pings share the path", 0, ushort.MaxValue);
        var command = new Command("explain", "Show one probe hop by hop: per-point timestamps and round trips, segment costs, verdict")
        {
            id, src, dst, seq, icmpId,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var request = Request(parse.GetValue(id), parse.GetValue(src), parse.GetValue(dst), parse.GetValue(seq), parse.GetValue(icmpId));
            var probe = await invocation.Connection.Client.GetProbeAsync(request, invocation.Connection.Unary(cancellationToken));
            return invocation.Show(probe, () => ExplainView.Build(probe));
        }));
        return command;
    }

    public static GetProbeRequest Request(long? id, string? src, string? dst, long? seq, long? icmpId)
    {
        var byKey = src is not null || dst is not null || seq is not null || icmpId is not null;
        if (id is { } probeId)
        {
            return byKey
                ? throw new CliUsageException("explain: give either a probe ID or --src/--dst/--seq, not both")
                : new GetProbeRequest { Id = probeId };
        }

        if (seq is not { } icmpSeq)
        {
            throw new CliUsageException("explain: give a probe ID, or --src IP --dst IP --seq N [--id N]");
        }

        return new GetProbeRequest
        {
            Lookup = new ProbeLookup
            {
                Path = new PathFilter { Src = src ?? "", Dst = dst ?? "" },
                IcmpSeq = (uint)icmpSeq,
                IcmpId = icmpId ?? -1,
            },
        };
    }
}
