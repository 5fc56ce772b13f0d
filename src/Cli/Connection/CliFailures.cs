using System.Net.Http;
using System.Net.Sockets;
using System.Security.Authentication;
using Grpc.Core;
using HopCapture.IngestClient;

namespace HopCapture.Cli.Connection;

/// <summary>Exit codes of <c>capture</c>; scripts branch on these.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Unreachable = 3;
    public const int NotFound = 4;

    /// <summary>The correlator refused the credential (Unauthenticated) or its role (PermissionDenied).</summary>
    public const int Denied = 5;

    /// <summary>The correlator did not answer within the call deadline (--timeout): reachable, but slow for this question.</summary>
    public const int TimedOut = 6;
    public const int Interrupted = 130;
}

/// <summary>A problem with what the user typed that only shows after parsing (e.g. conflicting flags).</summary>
public sealed class CliUsageException(string message) : Exception(message);

/// <summary>A wait that ran out on the CLI's side (a stalled stream), worded in full: exit <see cref="ExitCodes.TimedOut"/>.</summary>
public sealed class CliTimeoutException(string message) : Exception(message);

/// <summary>Turns any failure into the one line and exit code the user sees; never a stack trace.</summary>
public static class CliFailures
{
    public static (int ExitCode, string Message) Describe(Exception exception, string address, TimeSpan callTimeout)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            CliUsageException usage => (ExitCodes.Usage, "capture: " + usage.Message),
            CliTimeoutException timeout => (ExitCodes.TimedOut, "capture: " + timeout.Message),
            RpcException rpc => DescribeRpc(rpc, address, callTimeout),
            OperationCanceledException => (ExitCodes.Interrupted, "capture: interrupted"),
            _ => (ExitCodes.Failed, $"capture: unexpected error: {OneLine(exception.Message)} ({exception.GetType().Name})"),
        };
    }

    /// <summary>
    /// Why <c>analyze --load</c> failed, or null when <paramref name="exception"/> is not a load
    /// failure: refused (node name, Hello) → 1 naming the reason; the correlator not reached or
    /// lost after the retries → 3.
    /// </summary>
    public static (int ExitCode, string Message)? DescribeLoad(Exception exception, string address)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception switch
        {
            IngestRefusedException refused => (ExitCodes.Failed, $"capture: the correlator at {address} refused the load: {OneLine(refused.Message)}"),
            RpcException rpc when IngestRetry.Classify(rpc, CancellationToken.None) != IngestFailureKind.Transient =>
                (ExitCodes.Failed, $"capture: the correlator at {address} failed the load: {rpc.StatusCode}: {Detail(rpc)}"),
            RpcException or HttpRequestException or IngestSessionException =>
                (ExitCodes.Unreachable, UnreachableMessage(address, exception is RpcException rpc ? Reason(rpc) : IngestRetry.Describe(exception))
                    .Replace($"--correlator or {CorrelatorAddress.EnvironmentVariable}", "--load", StringComparison.Ordinal)),
            _ => null,
        };
    }

    public static string UnreachableMessage(string address, string reason) =>
        $"capture: cannot reach the correlator at {address} ({reason}). Is it running? Use --correlator or {CorrelatorAddress.EnvironmentVariable}.";

    private static (int, string) DescribeRpc(RpcException rpc, string address, TimeSpan callTimeout) => rpc.StatusCode switch
    {
        _ when IngestRetry.TlsProblem(rpc) is { } tls => (ExitCodes.Failed, $"capture: TLS handshake with the correlator at {address} failed: {tls}"),
        StatusCode.Unavailable => (ExitCodes.Unreachable, UnreachableMessage(address, Reason(rpc))),
        StatusCode.DeadlineExceeded => (ExitCodes.TimedOut,
            $"capture: timed out after {callTimeout.TotalSeconds:0.#} s waiting for the correlator at {address}; a long window may need more: --timeout 60s"),
        StatusCode.NotFound => (ExitCodes.NotFound, "capture: not found: " + Detail(rpc)),
        StatusCode.Unauthenticated => (ExitCodes.Denied, "capture: not authenticated: " + Detail(rpc)),
        StatusCode.PermissionDenied => (ExitCodes.Denied, "capture: permission denied: " + Detail(rpc)),
        StatusCode.InvalidArgument or StatusCode.OutOfRange or StatusCode.FailedPrecondition =>
            (ExitCodes.Usage, "capture: the correlator rejected the request: " + Detail(rpc)),
        StatusCode.Unimplemented => (ExitCodes.Failed,
            $"capture: {address} does not serve the HopCapture query API ({Detail(rpc)})"),
        StatusCode.Cancelled => (ExitCodes.Interrupted, "capture: interrupted"),
        _ => (ExitCodes.Failed, $"capture: the correlator at {address} failed: {rpc.StatusCode}: {Detail(rpc)}"),
    };

    /// <summary>The root cause in a few words: socket errors are what an engineer can act on.</summary>
    private static string Reason(RpcException rpc)
    {
        for (Exception? current = rpc.Status.DebugException ?? rpc.InnerException; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case SocketException socket:
                    return socket.SocketErrorCode switch
                    {
                        SocketError.ConnectionRefused => "connection refused",
                        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host not found",
                        SocketError.TimedOut => "connection timed out",
                        SocketError.HostUnreachable => "host unreachable",
                        SocketError.NetworkUnreachable => "network unreachable",
                        SocketError.ConnectionReset => "connection reset",
                        _ => OneLine(socket.Message),
                    };
                case AuthenticationException tls:
                    return "TLS handshake failed: " + OneLine(Innermost(tls).Message);
                case HttpRequestException { HttpRequestError: HttpRequestError.NameResolutionError }:
                    return "host not found";
                case HttpRequestException { HttpRequestError: HttpRequestError.SecureConnectionError }:
                    return "TLS handshake failed";
                case HttpRequestException { HttpRequestError: HttpRequestError.HttpProtocolError or HttpRequestError.VersionNegotiationError }:
                    return "it does not speak gRPC over HTTP/2";
                case OperationCanceledException or TimeoutException:
                    return "connection timed out";
                default:
                    break;
            }
        }

        return Detail(rpc);
    }

    private static Exception Innermost(Exception exception) =>
        exception.InnerException is { } inner ? Innermost(inner) : exception;

    private static string Detail(RpcException rpc) =>
        string.IsNullOrWhiteSpace(rpc.Status.Detail) ? rpc.StatusCode.ToString() : OneLine(rpc.Status.Detail);

    private static string OneLine(string text) => text.ReplaceLineEndings(" ").Trim();
}
