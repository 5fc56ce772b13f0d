using Grpc.Core;
using Polly;
using Polly.Retry;

namespace HopCapture.Agent.Upload;

/// <summary>The one place that decides what is retried and how long to wait.</summary>
internal static class UploadRetry
{
    public static readonly TimeSpan BaseDelay = TimeSpan.FromMilliseconds(500);
    public static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Every failure to reach or keep the correlator is retried (it may be restarting, or a node
    /// may not be allowed yet); only cancellation asked for by the caller ends the loop.
    /// </summary>
    public static bool ShouldRetry(Exception exception, CancellationToken callerToken) =>
        !callerToken.IsCancellationRequested && exception switch
        {
            OperationCanceledException => false,
            RpcException { StatusCode: StatusCode.Cancelled } => !callerToken.IsCancellationRequested,
            _ => true,
        };

    public static ResiliencePipeline Build(TimeProvider timeProvider, Func<OnRetryArguments<object>, ValueTask> onRetry) =>
        new ResiliencePipelineBuilder { TimeProvider = timeProvider }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } ex && ShouldRetry(ex, args.Context.CancellationToken)),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = BaseDelay,
                MaxDelay = MaxDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = onRetry,
            })
            .Build();

    /// <summary>A short reason a person can act on ("Unavailable: Connection refused (127.0.0.1:7400)").</summary>
    public static string Describe(Exception exception) => exception switch
    {
        RpcException rpc => $"{rpc.StatusCode}: {Innermost(rpc.Status.DebugException)?.Message ?? rpc.Status.Detail}",
        _ => Innermost(exception)!.Message,
    };

    private static Exception? Innermost(Exception? exception)
    {
        while (exception?.InnerException is not null)
        {
            exception = exception.InnerException;
        }

        return exception;
    }
}

/// <summary>The stream ended in a way that needs a new session (closed by the server, no welcome, a seq gap).</summary>
internal sealed class SessionException : Exception
{
    public SessionException()
    {
    }

    public SessionException(string message)
        : base(message)
    {
    }

    public SessionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
