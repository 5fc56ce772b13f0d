using Grpc.Core;
using HopCapture.Correlator.Hosting;
using HopCapture.Security;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Security;

/// <summary>
/// Which role each RPC needs, and whether a caller has it. Ingest is the agents' (their own node
/// only); Trace is the operators' (it makes agents send probes: the one query that changes what
/// happens on the network); every other query is read-only. Anonymous callers are served only in
/// explicit plaintext-on-loopback mode: everything when no token is configured (dev and tests),
/// the ingest stream only when tokens are (agents cannot present certificates without TLS).
/// </summary>
public sealed class AccessPolicy(IOptionsMonitor<CorrelatorOptions> options)
{
    public static readonly string IngestConnect = $"/{Protos.Ingest.Descriptor.FullName}/Connect";
    public static readonly string QueryTrace = $"/{Protos.Query.Descriptor.FullName}/Trace";

    /// <summary>The role <paramref name="method"/> needs; a method no rule here names (one added later) needs operator.</summary>
    public static AccessRole Required(string method) =>
        method == IngestConnect ? AccessRole.Agent
        : method.StartsWith($"/{Protos.Query.Descriptor.FullName}/", StringComparison.Ordinal) && method != QueryTrace ? AccessRole.Read
        : AccessRole.Operator;

    /// <summary>True when anonymous callers get everything: plaintext on loopback and no tokens.</summary>
    public bool OpenDevMode => options.CurrentValue is { Plaintext: true } o && o.Access.Tokens.Count == 0;

    /// <exception cref="RpcException">Unauthenticated (no credential) or PermissionDenied (the wrong role).</exception>
    public void Authorize(Caller caller, string method)
    {
        ArgumentNullException.ThrowIfNull(caller);
        var needed = Required(method);
        var rpc = method.TrimStart('/').Replace("hopcapture.v1.", "", StringComparison.Ordinal);
        if (caller.Role is not { } held)
        {
            if (OpenDevMode || (needed == AccessRole.Agent && options.CurrentValue.Plaintext))
            {
                return;
            }

            throw new RpcException(new Status(StatusCode.Unauthenticated, needed == AccessRole.Agent
                ? $"{rpc} needs a client certificate: agents connect with the certificate of their node (Agent:Tls:Certificate, from 'capture pki issue-node NODE')"
                : $"{rpc} needs a credential: a token (--token, --token-file or HOPCAPTURE_TOKEN) or a client certificate (--cert/--key) with role {AccessRoles.Name(needed)}"));
        }

        if (AccessRoles.Allows(held, needed))
        {
            return;
        }

        throw new RpcException(new Status(StatusCode.PermissionDenied, (held, needed) switch
        {
            (_, AccessRole.Agent) => $"{caller.Credential} is a CLI credential; {rpc} takes agent certificates only ('capture pki issue-node NODE')",
            (AccessRole.Agent, _) => $"{caller.Credential} may only use the ingest stream, not {rpc}",
            _ => $"{caller.Credential} may not call {rpc}: it needs role {AccessRoles.Name(needed)}" +
                 (method == QueryTrace ? " (a trace makes agents send probes)" : ""),
        }));
    }
}
