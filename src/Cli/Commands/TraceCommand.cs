using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary>
/// <c>capture trace</c>: field report 000's verification loop (ping -c N, every icmp_seq jump,
/// 0 % loss as the bar) as one command, with the hop-by-hop attribution on top.
/// </summary>
internal static class TraceCommand
{
    public static Command Create(CliRun run)
    {
        var from = new Option<string>("--from") { Description = "Node whose agent sends the probes", HelpName = "NODE", Required = true };
        var to = new Option<string>("--to") { Description = "Target: a node name (its agent's address) or an IPv4 address", HelpName = "NODE|IP", Required = true };
        var count = CliOptions.Number("--count", "Probes to send (default 100)", 1, 100_000);
        var interval = CliOptions.Duration("--interval", "Time between probes (default 1s, at least 10ms)");
        var size = CliOptions.Number("--size", "ICMP payload bytes (default 56)", 16, 1400);
        var maxLoss = new Option<double?>("--max-loss")
        {
            Description = "Pass only if loss is at most this (default 0%)",
            HelpName = "PERCENT",
            CustomParser = result =>
            {
                var text = result.Tokens[0].Value.Trim();
                var number = text.EndsWith('%') ? text[..^1] : text;
                if (double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var percent) && percent is >= 0 and <= 100)
                {
                    return percent / 100;
                }

                result.AddError($"--max-loss: '{text}' is not a percentage from 0% to 100%");
                return null;
            },
        };
        var maxJumps = CliOptions.Number("--max-jumps", "Pass only with at most this many icmp_seq jumps (default 0)", 0, 100_000);
        var maxP99 = CliOptions.Duration("--max-p99", "Pass only if the round-trip p99 is at most this (e.g. 5ms)");
        var against = new Option<string?>("--against")
        {
            Description = "Compare with this freeze (ICMP_ID/FIRST_SEQ from 'capture freezes', last 24 h): before and after side by side",
            HelpName = "FREEZE_ID",
        };
        var command = new Command("trace",
            "Send N probes from one node's agent and verify the path: sent/received/loss, every icmp_seq jump, " +
            "per-segment p50/p99, the verdict, and PASS/FAIL against the criteria (exit 0 pass, 1 fail)")
        {
            from, to, count, interval, size, maxLoss, maxJumps, maxP99, against,
        };
        command.SetAction(run.Action(async (invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var request = new TraceRunRequest
            {
                From = parse.GetValue(from)!,
                To = parse.GetValue(to)!,
                Count = (uint)(parse.GetValue(count) ?? 100),
                IntervalNs = parse.GetValue(interval) ?? 1_000_000_000,
                Size = (uint)(parse.GetValue(size) ?? 56),
            };
            if (request.IntervalNs < 10_000_000)
            {
                throw new Connection.CliUsageException("--interval: must be at least 10ms");
            }

            var criteria = new TraceCriteria(parse.GetValue(maxLoss) ?? 0, (uint)(parse.GetValue(maxJumps) ?? 0), parse.GetValue(maxP99));
            // The freeze is looked up first: a wrong id fails before any probe is sent.
            var freezeId = parse.GetValue(against) is { } text ? FreezeId.Parse(text) : (FreezeId?)null;
            var before = freezeId is { } wanted ? await FindFreezeAsync(invocation, wanted, cancellationToken) : null;
            var report = await RunAsync(invocation, request, cancellationToken);
            criteria.Apply(report);
            if (before is not null)
            {
                var comparison = new TraceAgainstFreeze { Before = before, After = report };
                if (invocation.Json)
                {
                    invocation.WriteJson(comparison);
                }
                else
                {
                    invocation.Render(TraceView.Build(report, criteria));
                    invocation.Render(TraceAgainstView.Build(comparison, freezeId!.Value.ToString(), invocation.Today));
                }
            }
            else if (invocation.Json)
            {
                invocation.WriteJson(report);
            }
            else
            {
                invocation.Render(TraceView.Build(report, criteria));
            }

            return report.Passed ? Connection.ExitCodes.Ok : Connection.ExitCodes.Failed;
        }));
        return command;
    }

    private static async Task<FreezeInfo> FindFreezeAsync(Invocation invocation, FreezeId id, CancellationToken cancellationToken)
    {
        var sinceNs = (invocation.Now - FreezeId.Lookback).ToUnixTimeMilliseconds() * 1_000_000;
        var freezes = await invocation.Connection.Client.ListFreezesAsync(new ListFreezesRequest { SinceNs = sinceNs }, invocation.Connection.Unary(cancellationToken));
        return freezes.Freezes.FirstOrDefault(id.Matches)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"no freeze {id} in the last {FreezeId.Lookback.TotalHours:0} h (see 'capture freezes --since 24h')"));
    }

    private static async Task<TraceReport> RunAsync(Invocation invocation, TraceRunRequest request, CancellationToken cancellationToken)
    {
        var context = invocation.Context;

        // The run takes count × interval plus the correlator's settle time; the deadline allows for both.
        var expected = TimeSpan.FromTicks(request.IntervalNs / 100 * request.Count);
        var deadline = context.Time.GetUtcNow().UtcDateTime + expected + TimeSpan.FromMinutes(1) + invocation.Connection.CallTimeout;
        using var call = invocation.Connection.Client.Trace(request, new CallOptions(deadline: deadline, cancellationToken: cancellationToken));
        var shown = 0;
        try
        {
            while (await call.ResponseStream.MoveNext(cancellationToken))
            {
                var update = call.ResponseStream.Current;
                if (update.BodyCase == TraceUpdate.BodyOneofCase.Report)
                {
                    return update.Report;
                }

                if (context.ErrorIsTerminal && update.Progress is { } progress)
                {
                    var line = TraceView.ProgressLine(request, progress);
                    context.Error.Write("\r" + line.PadRight(shown));
                    context.Error.Flush();
                    shown = Math.Max(shown, line.Length);
                }
            }
        }
        finally
        {
            if (shown > 0)
            {
                context.Error.Write("\r" + new string(' ', shown) + "\r");
                context.Error.Flush();
            }
        }

        throw new RpcException(new Status(StatusCode.Unavailable, "the correlator ended the trace without a report"));
    }
}

/// <summary>The PASS/FAIL bar of a trace, as given on the command line.</summary>
public sealed record TraceCriteria(double MaxLoss, uint MaxJumps, long? MaxP99Ns)
{
    public void Apply(TraceReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        report.Failures.Clear();
        if (report.Sent == 0)
        {
            report.Failures.Add("no probe was sent");
        }

        if (report.Loss > MaxLoss + 1e-12)
        {
            report.Failures.Add($"loss {Formats.Percent(report.Loss)} exceeds {Formats.Percent(MaxLoss)}");
        }

        if (report.Jumps.Count > MaxJumps)
        {
            report.Failures.Add($"{report.Jumps.Count} icmp_seq jumps exceed {MaxJumps}");
        }

        if (MaxP99Ns is { } p99 && report.RttP99Ns > p99)
        {
            report.Failures.Add($"round-trip p99 {Formats.Duration(report.RttP99Ns)} exceeds {Formats.Duration(p99)}");
        }

        report.Passed = report.Failures.Count == 0;
    }

    public string Describe() =>
        $"loss ≤ {Formats.Percent(MaxLoss)}, jumps ≤ {MaxJumps}" + (MaxP99Ns is { } p99 ? $", p99 ≤ {Formats.Duration(p99)}" : "");
}
