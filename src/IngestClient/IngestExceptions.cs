using Grpc.Core;

namespace HopCapture.IngestClient;

/// <summary>
/// The correlator refused this client (its node name, its Hello, or the API itself): retrying
/// cannot help. The message is one line naming the reason, e.g.
/// "PermissionDenied: node 'x' is not in Correlator:AllowedNodes".
/// </summary>
public sealed class IngestRefusedException : Exception
{
    public IngestRefusedException()
    {
    }

    public IngestRefusedException(string message)
        : base(message)
    {
    }

    public IngestRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public IngestRefusedException(RpcException refusal)
        : base(IngestRetry.Describe(refusal), refusal)
    {
        ArgumentNullException.ThrowIfNull(refusal);
        StatusCode = refusal.StatusCode;
    }

    public StatusCode StatusCode { get; } = StatusCode.Unknown;
}

/// <summary>A stream ended in a way that needs a new one: closed by the correlator, no welcome in time, a seq gap.</summary>
public sealed class IngestSessionException : Exception
{
    public IngestSessionException()
    {
    }

    public IngestSessionException(string message)
        : base(message)
    {
    }

    public IngestSessionException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
