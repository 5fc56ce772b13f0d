namespace HopCapture.Hosting.CommandLine;

/// <summary>A bad command line; the message is one line naming the flag (exit code 2).</summary>
public sealed class CommandLineException : Exception
{
    public CommandLineException()
    {
    }

    public CommandLineException(string message)
        : base(message)
    {
    }

    public CommandLineException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
