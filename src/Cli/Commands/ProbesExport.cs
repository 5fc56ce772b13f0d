using System.Globalization;
using System.Text;
using Grpc.Core;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

/// <summary>
/// <c>capture probes --all</c>: every matching probe through ExportProbes, printed as the
/// correlator sends it, newest first — JSON Lines with --json (one ProbeRecord per line, the form
/// of <c>watch --json</c>), else the probes table row by row — with progress on stderr when it is
/// a terminal. With --timeout the whole export has that deadline, which the correlator sees and
/// stops at; without it an export runs as long as probes keep coming, and a stall of the default
/// call timeout between chunks ends it. Both are exit 6, "timed out after N s".
/// </summary>
internal static class ProbesExport
{
    public static async Task<int> RunAsync(Invocation invocation, ExportProbesRequest request, bool hasDeadline, string address, CancellationToken cancellationToken)
    {
        var context = invocation.Context;
        var connection = invocation.Connection;
        var patience = connection.CallTimeout;
        using var stall = new CancellationTokenSource(Timeout.InfiniteTimeSpan, context.Time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stall.Token);
        var progress = new ExportProgress(context, request.SinceNs);
        var table = invocation.Json ? null : new StreamedTable(context.Out, ProbesView.Headers);
        var completed = false;
        try
        {
            using var call = connection.Client.ExportProbes(
                request, hasDeadline ? connection.Unary(linked.Token) : new CallOptions(cancellationToken: linked.Token));
            Arm(stall, hasDeadline, patience);
            while (await call.ResponseStream.MoveNext(linked.Token))
            {
                Arm(stall, hasDeadline, patience);
                var probes = call.ResponseStream.Current.Probes;
                progress.BeforeRows();
                if (table is null)
                {
                    WriteJsonLines(context.Out, probes);
                }
                else
                {
                    table.Write(probes.Select(p => ProbesView.Cells(p, invocation.Today)).ToList());
                }

                progress.Add(probes);
            }

            completed = true;
        }
        catch (Exception exception) when (stall.IsCancellationRequested && !cancellationToken.IsCancellationRequested
            && exception is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            throw new CliTimeoutException(
                $"timed out after {patience.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s waiting for more probes from the correlator at {address} " +
                $"({Formats.Count((ulong)progress.Probes)} printed); --timeout gives the whole export a deadline instead");
        }
        finally
        {
            progress.Finish(completed);
        }

        if (table is not null)
        {
            context.Out.WriteLine($"{Formats.Count((ulong)progress.Probes)} probes");
        }

        return ExitCodes.Ok;
    }

    /// <summary>Without a deadline, each chunk must come within the call timeout of the one before.</summary>
    private static void Arm(CancellationTokenSource stall, bool hasDeadline, TimeSpan patience)
    {
        if (!hasDeadline)
        {
            stall.CancelAfter(patience);
        }
    }

    /// <summary>A chunk's probes as JSON Lines, in one write: one syscall a chunk, not one a probe.</summary>
    private static void WriteJsonLines(TextWriter output, IEnumerable<ProbeRecord> probes)
    {
        var text = new StringBuilder();
        foreach (var probe in probes)
        {
            text.Append(JsonOutput.Format(probe)).Append('\n');
        }

        output.Write(text.ToString());
        output.Flush();
    }
}
