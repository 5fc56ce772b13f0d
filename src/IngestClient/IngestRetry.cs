using System.Net.Http;
using System.Security.Authentication;
using Grpc.Core;
using Polly;
using Polly.Retry;

namespace HopCapture.IngestClient;

/// <summary>How a failed ingest stream is treated.</summary>
public enum IngestFailureKind
{
    /// <summary>The caller asked to stop: never retried.</summary>
    Cancelled,

    /// <summary>The correlator is away, restarting or overloaded, or the stream broke: retried with backoff.</summary>
    Transient,

    /// <summary>The correlator refused this client (node name, Hello, API, credentials, a TLS handshake): retrying cannot help.</summary>
    Refused,

    /// <summary>Anything else (a correlator bug, a client bug): not retried, reported as it is.</summary>
    Failed,
}

/// <summary>The one place that decides what is retried and how long to wait between attempts.</summary>
public static class IngestRetry
{
    public static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    public static IngestFailureKind Classify(Exception exception, CancellationToken callerToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
        if (callerToken.IsCancellationRequested)
        {
            return IngestFailureKind.Cancelled;
        }

        return exception switch
        {
            RpcException rpc => Classify(rpc),
            // The session's own: closed stream, no welcome in time, seq gap.
            IngestSessionException => IngestFailureKind.Transient,
            // A broken connection surfaces as these outside of a status (or a write after the call ended).
            IOException or HttpRequestException or InvalidOperationException => IngestFailureKind.Transient,
            // Not the caller's token: a timeout inside the client.
            OperationCanceledException => IngestFailureKind.Transient,
            _ => IngestFailureKind.Failed,
        };
    }

    /// <summary>A short reason a person can act on ("Unavailable: Connection refused (127.0.0.1:7400)").</summary>
    public static string Describe(Exception exception) => exception switch
    {
        IngestRefusedException or IngestSessionException => OneLine(exception.Message),
        _ when TlsProblem(exception) is { } tls => $"TLS handshake with the correlator failed: {tls}",
        RpcException rpc => $"{rpc.StatusCode}: {OneLine(Innermost(rpc.Status.DebugException)?.Message ?? rpc.Status.Detail)}",
        _ => OneLine(Innermost(exception)!.Message),
    };

    internal static ResiliencePipeline Build(TimeProvider timeProvider, int maxRetryAttempts, Func<OnRetryArguments<object>, ValueTask> onRetry) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } ex && Classify(ex, args.Context.CancellationToken) == IngestFailureKind.Transient),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = BaseDelay,
                MaxDelay = MaxDelay,
                MaxRetryAttempts = maxRetryAttempts,
                OnRetry = onRetry,
            })
            .Build();

    private static IngestFailureKind Classify(RpcException rpc) => rpc.StatusCode switch
    {
        // A certificate the other side refused (or this side does not trust): a configuration
        // error that a retry repeats. A connection cut mid-handshake stays transient.
        // (A failure thrown by a certificate check arrives as Internal, a refused one as Unavailable.)
        _ when TlsFailure(rpc) is not null => IngestFailureKind.Refused,
        StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.ResourceExhausted or StatusCode.Aborted =>
            IngestFailureKind.Transient,
        // Cancelled, Internal or Unknown made up by the client from a broken connection (a reset
        // stream, a failed read) carry the transport error; the same codes sent by the server do not.
        StatusCode.Cancelled or StatusCode.Internal or StatusCode.Unknown when rpc.Status.DebugException is not null =>
            IngestFailureKind.Transient,
        StatusCode.InvalidArgument or StatusCode.PermissionDenied or StatusCode.Unauthenticated
            or StatusCode.FailedPrecondition or StatusCode.Unimplemented => IngestFailureKind.Refused,
        _ => IngestFailureKind.Failed,
    };

    /// <summary>Why the TLS handshake failed, in one line, when that is what <paramref name="exception"/> is; otherwise null.</summary>
    public static string? TlsProblem(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return TlsFailure(exception) is { } tls ? OneLine(tls.Message) : null;
    }

    /// <summary>The innermost TLS failure under <paramref name="exception"/> that is not an I/O failure, or null.</summary>
    private static Exception? TlsFailure(Exception exception)
    {
        Exception? tls = null;
        for (Exception? current = exception is RpcException rpc ? rpc.Status.DebugException : exception; current is not null; current = current.InnerException)
        {
            if (current is AuthenticationException)
            {
                tls = current;
            }
            else if (tls is not null && current is IOException or System.Net.Sockets.SocketException)
            {
                return null;
            }
        }

        return tls is null ? null : Innermost(tls);
    }

    private static Exception? Innermost(Exception? exception)
    {
        while (exception?.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
