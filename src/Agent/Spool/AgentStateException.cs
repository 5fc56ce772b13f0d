namespace HopCapture.Agent.Spool;

/// <summary>
/// The state directory or the spool cannot be used (permissions, disk full, another agent holds
/// it): the agent exits with <see cref="ExitCode"/>, which the unit does not restart, so a broken
/// disk is one clear line in the journal, never a crash loop.
/// </summary>
public sealed class AgentStateException : Exception
{
    /// <summary>The process exit code for this failure (documented in --help and the README).</summary>
    public const int ExitCode = 3;

    public AgentStateException()
    {
    }

    public AgentStateException(string message)
        : base(message)
    {
    }

    public AgentStateException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
