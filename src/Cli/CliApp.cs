using System.CommandLine;
using HopCapture.Cli.Commands;
using HopCapture.Cli.Connection;

namespace HopCapture.Cli;

/// <summary>
/// The <c>capture</c> command line, callable in-process: parse, run one command against the
/// correlator's query API, and turn every failure into one stderr line and an exit code
/// (0 ok, 1 failed, 2 usage, 3 correlator unreachable, 4 not found, 5 not authorised).
/// </summary>
public static class CliApp
{
    public static Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken = default) =>
        RunAsync(args, new CliContext(stdout, stderr), cancellationToken);

    public static async Task<int> RunAsync(string[] args, CliContext context, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(context);
        var run = new CliRun(context);
        var root = BuildRoot(run);
        var parse = root.Parse(args);
        if (parse.Errors.Count > 0)
        {
            var help = parse.CommandResult.Command == root ? "capture --help" : $"capture {parse.CommandResult.Command.Name} --help";
            context.Error.WriteLine($"capture: {OneLine(parse.Errors[0].Message).TrimEnd('.')} (see '{help}')");
            return ExitCodes.Usage;
        }

        try
        {
            return await parse.InvokeAsync(
                new InvocationConfiguration
                {
                    Output = context.Out,
                    Error = context.Error,
                    // Failures are described by CliFailures in one line, never as a stack trace.
                    EnableDefaultExceptionHandler = false,
                    // Ctrl-C arrives through cancellationToken (Program wires it), so watch can end cleanly.
                    ProcessTerminationTimeout = null,
                },
                cancellationToken);
        }
        catch (Exception exception)
        {
            var (exitCode, message) = CliFailures.Describe(exception, run.AddressText, run.CallTimeout);
            context.Error.WriteLine(message);
            return exitCode;
        }
    }

    private static RootCommand BuildRoot(CliRun run)
    {
        var root = new RootCommand(
            "capture — ask the HopCapture correlator where ping latency and loss happen, hop by hop.\n" +
            "Exit codes: 0 ok, 1 failed, 2 usage error, 3 correlator unreachable, 4 not found, 5 not authorised,\n" +
            "6 timed out (--timeout DURATION, default 10 s, is each call's deadline).\n" +
            "Credentials: --token (or --token-file, HOPCAPTURE_TOKEN, HOPCAPTURE_TOKEN_FILE, in that order) and/or\n" +
            "--cert/--key (HOPCAPTURE_CERT/HOPCAPTURE_KEY); --ca (HOPCAPTURE_CA) for the correlator's CA.\n\n" +
            "Examples:\n" +
            "  capture paths --since 1h\n" +
            "  capture probes --dst 192.168.47.127 --min-rtt 20ms --order rtt\n" +
            "  capture probes --all --since 1d --json > day.jsonl   (every probe, one per line, as it streams)\n" +
            "  capture explain 42\n" +
            "  capture explain --src 192.168.47.111 --dst 192.168.47.127 --seq 110\n" +
            "  capture watch --min-rtt 50ms --count 10\n" +
            "  capture freezes --since 1h\n" +
            "  capture host --node hv1 --iface tap100i0 --since 10m\n" +
            "  capture trace --from vm1 --to vm2 --count 300 --interval 200ms\n" +
            "  capture alerts\n" +
            "  capture incidents; capture incident show 3; capture top --node hv1 --iface eno1 --at 2m\n" +
            "  capture pcap --node hv1 --iface eno1 --from 2m --to 1m -o spike.pcapng\n" +
            "  capture plot --src 10.77.0.11 --dst 10.77.0.12 --since 5m --node hv1 --iface eno1 --png path.png\n" +
            "  capture analyze hv1:eno1:nic=hv1-eno1.pcap hv2:eno1:nic=hv2-eno1.pcap")
        {
            run.Correlator,
            run.Json,
            run.Timeout,
            AgentsCommand.Create(run),
            PathsCommand.Create(run),
            ProbesCommand.Create(run),
            ExplainCommand.Create(run),
            WatchCommand.Create(run),
            AnalyzeCommand.Create(run),
            LossCommands.Loss(run),
            LossCommands.Freezes(run),
            HostCommand.Create(run),
            AlertsCommand.Create(run),
            IncidentCommands.Incidents(run),
            IncidentCommands.Incident(run),
            IncidentCommands.Top(run),
            IncidentCommands.Pcap(run),
            IncidentCommands.Plot(run),
            TraceCommand.Create(run),
            PkiCommands.Create(run),
        };
        foreach (var option in run.Credentials.All)
        {
            root.Options.Add(option);
        }

        root.SetAction(parse =>
        {
            run.Context.Error.WriteLine("capture: no command given; use one of agents, paths, probes, explain, watch, loss, freezes, host, trace, alerts, incidents, incident, top, pcap, plot, analyze, pki (see 'capture --help')");
            return ExitCodes.Usage;
        });
        return root;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
