namespace HopCapture.Security;

/// <summary>
/// What a credential may do at the correlator. Read-only CLI users query; operators also start
/// traces (which make agents send traffic); agents only stream observations for their own node.
/// </summary>
public enum AccessRole
{
    Read,
    Operator,
    Agent,
}

/// <summary>The roles' names as they appear in config, certificates and messages.</summary>
public static class AccessRoles
{
    /// <summary>The roles a CLI credential (token or client certificate) may carry.</summary>
    public const string CliRoles = "read|operator";

    public static string Name(AccessRole role) => role switch
    {
        AccessRole.Read => "read",
        AccessRole.Operator => "operator",
        AccessRole.Agent => "agent",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static bool TryParse(string? text, out AccessRole role)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "read":
                role = AccessRole.Read;
                return true;
            case "operator":
                role = AccessRole.Operator;
                return true;
            case "agent":
                role = AccessRole.Agent;
                return true;
            default:
                role = default;
                return false;
        }
    }

    /// <summary>True when <paramref name="held"/> includes <paramref name="needed"/>: operator includes read; agent is its own.</summary>
    public static bool Allows(AccessRole held, AccessRole needed) =>
        held == needed || (held == AccessRole.Operator && needed == AccessRole.Read);
}
