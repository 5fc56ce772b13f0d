namespace HopCapture.Agent.Capture;

/// <summary>The agent cannot start (unknown interface, no permission, unreadable file); the message is the one-line error.</summary>
public sealed class AgentStartupException : Exception
{
    public AgentStartupException()
    {
    }

    public AgentStartupException(string message)
        : base(message)
    {
    }

    public AgentStartupException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
