using Grpc.Core;
using Grpc.Core.Interceptors;
using HopCapture.Protos;

namespace HopCapture.Correlator.Security;

/// <summary>
/// Every call passes here before any service code: who is calling (<see cref="CallerAuthenticator"/>),
/// may they call this RPC (<see cref="AccessPolicy"/>), and — for an agent certificate on the
/// ingest stream — does its Hello name the certificate's node. A refusal ends only that call; the
/// correlator goes on serving everyone else.
/// </summary>
public sealed partial class AccessInterceptor(CallerAuthenticator authenticator, AccessPolicy policy, ILogger<AccessInterceptor> logger) : Interceptor
{
    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Authorize(context);
        return continuation(request, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Authorize(context);
        return continuation(requestStream, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        Authorize(context);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(
        IAsyncStreamReader<TRequest> requestStream, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        ArgumentNullException.ThrowIfNull(continuation);
        var caller = Authorize(context);
        if (caller.BoundToNode && requestStream is IAsyncStreamReader<AgentMessage> agent)
        {
            requestStream = (IAsyncStreamReader<TRequest>)(object)new NodeBoundReader(agent, caller, context, logger);
        }

        return continuation(requestStream, responseStream, context);
    }

    private Caller Authorize(ServerCallContext context)
    {
        try
        {
            var caller = authenticator.Authenticate(context);
            policy.Authorize(caller, context.Method);
            return caller;
        }
        catch (RpcException ex)
        {
            Log.Refused(logger, context.Method, context.Peer, ex.StatusCode, ex.Status.Detail);
            throw;
        }
    }

    /// <summary>The agent's messages, with every Hello checked against the certificate's node.</summary>
    private sealed class NodeBoundReader(IAsyncStreamReader<AgentMessage> inner, Caller caller, ServerCallContext context, ILogger logger)
        : IAsyncStreamReader<AgentMessage>
    {
        public AgentMessage Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            if (!await inner.MoveNext(cancellationToken))
            {
                return false;
            }

            if (inner.Current.BodyCase == AgentMessage.BodyOneofCase.Hello && inner.Current.Hello.Node != caller.Name)
            {
                var claimed = inner.Current.Hello.Node;
                var message = $"{caller.Credential} may only send for node '{caller.Name}', but its Hello claims node '{claimed}'; " +
                              $"set Agent:Node to '{caller.Name}' or issue a certificate for '{claimed}' ('capture pki issue-node {claimed}')";
                Log.Refused(logger, context.Method, context.Peer, StatusCode.PermissionDenied, message);
                throw new RpcException(new Status(StatusCode.PermissionDenied, message));
            }

            return true;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "Refused {Method} from {Peer}: {Status}: {Reason}")]
        public static partial void Refused(ILogger logger, string method, string peer, StatusCode status, string reason);
    }
}
