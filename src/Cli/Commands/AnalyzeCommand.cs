using System.CommandLine;
using System.Globalization;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Rendering;
using HopCapture.Engine.Correlation;
using HopCapture.IngestClient;
using HopCapture.Analysis.Loss;
using HopCapture.Packets.Files;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary>
/// <c>capture analyze</c>: capture files through the correlator's engine, offline, printed with the
/// live views; optionally loaded into a running correlator as an import.
/// </summary>
internal static class AnalyzeCommand
{
    public static Command Create(CliRun run)
    {
        var files = new Argument<string[]>("FILE")
        {
            Description = "Capture files tagged with where they were taken: " + AnalyzeInput.Syntax +
                          ", e.g. hv1:eno1:nic=hv1-eno1.pcap",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var map = new Option<string?>("--map")
        {
            Description = "A file of tagged files, one per line ('#' comments; paths relative to it)",
            HelpName = "FILE",
        };
        var minRtt = CliOptions.Duration("--min-rtt", "List probes with a round trip of at least this (20ms, 1.5s, 500us); default: the slowest");
        var limit = CliOptions.Number("--limit", "List at most N slow and N lost probes (default 20)", 1, 100_000);
        var explain = new Option<long[]>("--explain")
        {
            Description = "Explain the probes with this ICMP seq (as ping prints icmp_seq); repeatable",
            HelpName = "SEQ",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result => [.. result.Tokens.Select(t => Whole(result, "--explain", t.Value, ushort.MaxValue))],
        };
        var explainId = new Option<long[]>("--explain-id")
        {
            Description = "Explain the probes with this id (the id column of the tables); repeatable",
            HelpName = "ID",
            AllowMultipleArgumentsPerToken = true,
            CustomParser = result => [.. result.Tokens.Select(t => Whole(result, "--explain-id", t.Value, long.MaxValue))],
        };
        var load = new Option<string?>("--load")
        {
            Description = "Also send the observations to the correlator at URL (ingest port), stamped as an import",
            HelpName = "URL",
        };
        var minLost = LossCommands.MinLostOption();
        var progress = new Option<bool>("--progress") { Description = "Print progress on stderr even when it is not a terminal" };
        var command = new Command("analyze",
            "Correlate capture files (pcap/pcapng from tcpdump, one per capture point) offline with the correlator's engine\n\n" +
            "Examples:\n" +
            "  capture analyze vm1:eth0:guest=vm1.pcap hv1:tap100i0:vif=hv1-tap.pcap hv1:eno1:nic=hv1-eno1.pcap \\\n" +
            "                  hv2:eno1:nic=hv2-eno1.pcap hv2:tap200i0:vif=hv2-tap.pcap vm2:eth0:guest=vm2.pcap --min-rtt 20ms\n" +
            "  capture analyze --map captures.txt --explain 184\n" +
            "  capture analyze --map captures.txt --min-lost 5     # loss places and freezes of 5+ lost probes\n" +
            "  capture analyze hv1:nic=hv1-any.pcapng --load http://correlator:7400")
        {
            files, map, minRtt, limit, explain, explainId, load, minLost, progress,
        };
        command.SetAction(async (parse, cancellationToken) =>
        {
            var inputs = Inputs(parse.GetValue(files) ?? [], parse.GetValue(map));
            var settings = new AnalyzeSettings(
                parse.GetValue(minRtt) ?? 0,
                (int)(parse.GetValue(limit) ?? 20),
                parse.GetValue(explain) ?? [],
                parse.GetValue(explainId) ?? [],
                parse.GetValue(load),
                parse.GetValue(progress) || run.Context.ErrorIsTerminal,
                (int)(parse.GetValue(minLost) ?? PingRun.DefaultMinLost));
            var credentials = settings.Load is { } loadUrl && CorrelatorAddress.TryParse(loadUrl, out var address, out _)
                ? run.Credentials.Resolve(parse, address)
                : CorrelatorCredentials.None;
            return await RunAsync(run.Context, inputs, settings, parse.GetValue(run.Json), cancellationToken, credentials);
        });
        return command;
    }

    /// <param name="credentials">What <c>--load</c> presents (the CLI's --ca/--cert/--key/--token); none when null.</param>
    public static async Task<int> RunAsync(
        CliContext context, IReadOnlyList<AnalyzeInput> inputs, AnalyzeSettings settings, bool json, CancellationToken cancellationToken,
        CorrelatorCredentials? credentials = null)
    {
        string? loadAddress = null;
        if (settings.Load is { } loadText)
        {
            if (!CorrelatorAddress.TryParse(loadText, out var address, out var error))
            {
                throw new CliUsageException("--load: " + error);
            }

            loadAddress = CorrelatorAddress.Display(address);
        }

        AnalyzeSession session;
        try
        {
            session = new AnalyzeSession(inputs, new EngineOptions(), settings.CreateViews());
        }
        catch (CaptureFileException ex)
        {
            context.Error.WriteLine("capture: " + ex.Message);
            return ExitCodes.Failed;
        }

        using (session)
        {
            var reporter = settings.Progress ? new ProgressLine(context) : null;
            AnalyzeReport report;
            if (loadAddress is null)
            {
                report = await Task.Run(() => session.Run(null, reporter is null ? null : reporter.Report, cancellationToken), cancellationToken);
            }
            else
            {
                await using var loader = new AnalyzeLoader(loadAddress, credentials: credentials);
                try
                {
                    report = await Task.Run(() => session.Run(loader, reporter is null ? null : reporter.Report, cancellationToken), cancellationToken);
                    report.Load = await loader.CompleteAsync(cancellationToken);
                }
                catch (Exception ex) when (CliFailures.DescribeLoad(ex, loadAddress) is { } failure)
                {
                    reporter?.Done();
                    context.Error.WriteLine(failure.Message);
                    return failure.ExitCode;
                }
            }

            reporter?.Done();
            foreach (var file in report.Files.Where(static f => f.Error.Length > 0))
            {
                // Reported, not fatal: everything before the cut was analysed.
                context.Error.WriteLine("capture: warning: " + file.Error);
            }

            if (json)
            {
                context.Out.WriteLine(JsonOutput.Format(report));
                context.Out.Flush();
            }
            else
            {
                Consoles.Create(context.Out, context.OutIsTerminal).Write(AnalyzeView.Build(report, settings.MinRttNs));
            }

            return ExitCodes.Ok;
        }
    }

    private static List<AnalyzeInput> Inputs(string[] specs, string? map)
    {
        var inputs = new List<AnalyzeInput>();
        if (map is not null)
        {
            inputs.AddRange(AnalyzeInput.ReadMap(map));
        }

        foreach (var spec in specs)
        {
            if (!AnalyzeInput.TryParse(spec, null, out var input, out var error))
            {
                throw new CliUsageException("analyze: " + error);
            }

            inputs.Add(input);
        }

        if (inputs.Count == 0)
        {
            throw new CliUsageException($"analyze: give at least one capture file as {AnalyzeInput.Syntax}, or --map FILE");
        }

        return inputs;
    }

    private static long Whole(System.CommandLine.Parsing.ArgumentResult result, string name, string text, long max)
    {
        if (long.TryParse(text.TrimStart('#'), NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value <= max)
        {
            return value;
        }

        result.AddError($"{name}: '{text}' is not a whole number from 0 to {max}");
        return 0;
    }

    /// <summary>A transient status line on stderr: rewritten in place on a terminal, one line per update otherwise.</summary>
    private sealed class ProgressLine(CliContext context)
    {
        private bool _shown;

        public void Report(AnalyzeProgress progress)
        {
            var percent = progress.BytesTotal > 0 ? 100.0 * progress.BytesRead / progress.BytesTotal : 0;
            var line = string.Create(CultureInfo.InvariantCulture,
                $"analyze: {percent,5:0.0} %  {Formats.Count((ulong)progress.Observations)} echoes  {Formats.Count((ulong)progress.Probes)} probes");
            if (context.ErrorIsTerminal)
            {
                context.Error.Write("\r" + line + "\u001b[K");
            }
            else
            {
                context.Error.WriteLine(line);
            }

            _shown = true;
        }

        public void Done()
        {
            if (_shown && context.ErrorIsTerminal)
            {
                context.Error.Write("\r\u001b[K");
            }
        }
    }
}

/// <summary>What <c>capture analyze</c> was asked to show.</summary>
public sealed record AnalyzeSettings(
    long MinRttNs,
    int Limit,
    IReadOnlyCollection<long> ExplainSeqs,
    IReadOnlyCollection<long> ExplainIds,
    string? Load = null,
    bool Progress = false,
    int MinLost = PingRun.DefaultMinLost)
{
    /// <summary>The views of a run: what the live CLI's paths, probes, explain, loss and freezes print.</summary>
    public IReadOnlyList<IAnalyzeView> CreateViews() =>
    [
        new PathsAnalyzeView(),
        new SlowAnalyzeView(MinRttNs, Limit),
        new LostAnalyzeView(Limit),
        new ExplainAnalyzeView(ExplainSeqs.ToHashSet(), ExplainIds.ToHashSet()),
        new LossAnalyzeView(),
        new FreezesAnalyzeView(MinLost),
    ];
}
