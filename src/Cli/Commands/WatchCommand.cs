using System.CommandLine;
using System.Globalization;
using Grpc.Core;
using HopCapture.Cli.Connection;
using HopCapture.Cli.Rendering;
using HopCapture.Protos;

namespace HopCapture.Cli.Commands;

internal static class WatchCommand
{
    public static Command Create(CliRun run)
    {
        var src = CliOptions.Address("--src", "Only probes sent by this address");
        var dst = CliOptions.Address("--dst", "Only probes sent to this address");
        var minRtt = CliOptions.Duration("--min-rtt", "Only probes with a round trip of at least this (20ms, 1.5s, 500us)");
        var count = CliOptions.Number("--count", "Stop after N probes", 1, long.MaxValue);
        var duration = CliOptions.Duration("--duration", "Stop after this long (30s, 10m)");
        var command = new Command("watch", "Follow probes live as the correlator finalises them (Ctrl-C stops)")
        {
            src, dst, minRtt, count, duration,
        };
        command.SetAction(run.Action((invocation, cancellationToken) =>
        {
            var parse = invocation.Parse;
            var request = new WatchRequest
            {
                Path = new PathFilter { Src = parse.GetValue(src) ?? "", Dst = parse.GetValue(dst) ?? "" },
                MinRttNs = parse.GetValue(minRtt) ?? 0,
            };
            var limit = parse.GetValue(count);
            var durationNs = parse.GetValue(duration);
            if (durationNs is 0)
            {
                throw new CliUsageException("--duration: must be longer than 0");
            }

            var stopAfter = durationNs is { } ns ? TimeSpan.FromTicks(ns / 100) : (TimeSpan?)null;
            return WatchAsync(invocation, request, limit, stopAfter, run.AddressText, cancellationToken);
        }));
        return command;
    }

    /// <summary>
    /// Streams until the count is reached, the duration is up, or the user presses Ctrl-C — all
    /// three are a normal end (exit 0). A stream the correlator breaks is an error like any call.
    /// </summary>
    private static async Task<int> WatchAsync(
        Invocation invocation, WatchRequest request, long? limit, TimeSpan? stopAfter, string address, CancellationToken cancellationToken)
    {
        var context = invocation.Context;
        using var stop = stopAfter is { } after
            ? new CancellationTokenSource(after, context.Time)
            : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, stop.Token);
        using var status = context.ErrorIsTerminal ? new WaitingStatus(context, address) : null;

        var received = 0L;
        try
        {
            using var call = invocation.Connection.Client.Watch(request, new CallOptions(cancellationToken: linked.Token));
            status?.Start(linked.Token);
            while (await call.ResponseStream.MoveNext(linked.Token))
            {
                status?.Clear();
                var probe = call.ResponseStream.Current;
                if (invocation.Json)
                {
                    invocation.WriteJson(probe);
                }
                else
                {
                    context.Out.WriteLine(WatchLine.Format(probe));
                    context.Out.Flush();
                }

                if (++received >= limit)
                {
                    break;
                }
            }
        }
        catch (Exception exception) when (linked.IsCancellationRequested
            && exception is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
        {
            // Ctrl-C or --duration: the stream was meant to stop here.
        }
        finally
        {
            status?.Clear();
        }

        return ExitCodes.Ok;
    }

    /// <summary>
    /// "waiting…" on stderr while nothing has arrived, so a quiet watch does not look hung.
    /// Only on a terminal: in a pipe or a log it would be noise.
    /// </summary>
    private sealed class WaitingStatus(CliContext context, string address) : IDisposable
    {
        private readonly Lock _gate = new();
        private readonly StatusLine _line = new(context.Error);
        private PeriodicTimer? _timer;
        private bool _done;

        public void Start(CancellationToken cancellationToken)
        {
            _timer = new PeriodicTimer(TimeSpan.FromSeconds(1), context.Time);
            var started = context.Time.GetTimestamp();
            Show(0);
            _ = Task.Run(async () =>
            {
                try
                {
                    while (await _timer.WaitForNextTickAsync(cancellationToken))
                    {
                        Show((int)context.Time.GetElapsedTime(started).TotalSeconds);
                    }
                }
                catch (OperationCanceledException)
                {
                    // The watch ended; nothing to show any more.
                }
            }, CancellationToken.None);
        }

        public void Clear()
        {
            lock (_gate)
            {
                _line.Clear();
                _done = true;
                _timer?.Dispose();
            }
        }

        public void Dispose() => Clear();

        private void Show(int seconds)
        {
            lock (_gate)
            {
                if (!_done)
                {
                    _line.Show($"waiting for probes from {address} ({seconds.ToString(CultureInfo.InvariantCulture)}s, Ctrl-C to stop)");
                }
            }
        }
    }
}
