using HopCapture.Security;

namespace HopCapture.Correlator.Security;

/// <summary>Who made a call, as <see cref="CallerAuthenticator"/> established it.</summary>
/// <param name="Role">The credential's role; null for an anonymous caller.</param>
/// <param name="Name">The node (agent certificate) or user (token, CLI certificate).</param>
/// <param name="Credential">How it was established, for messages: "token 'alice'", "certificate for agent 'hv1'".</param>
public sealed record Caller(AccessRole? Role, string Name, string Credential)
{
    public static readonly Caller Anonymous = new(null, "", "an anonymous caller");

    public bool IsAnonymous => Role is null;

    /// <summary>An agent certificate: its Hello must name <see cref="Name"/>.</summary>
    public bool BoundToNode => Role == AccessRole.Agent;
}
