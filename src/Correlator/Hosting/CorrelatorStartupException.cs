namespace HopCapture.Correlator.Hosting;

/// <summary>A start failure the operator can fix; printed as "correlator: KEY: PROBLEM".</summary>
public sealed class CorrelatorStartupException : Exception
{
    public CorrelatorStartupException(string key, string problem, Exception? inner = null)
        : base($"{key}: {problem}", inner)
    {
        Key = key;
        Problem = problem;
    }

    public CorrelatorStartupException()
        : this("correlator", "start failed")
    {
    }

    public CorrelatorStartupException(string message)
        : this("correlator", message)
    {
    }

    public CorrelatorStartupException(string message, Exception inner)
        : this("correlator", message, inner)
    {
    }

    public string Key { get; }

    public string Problem { get; }
}
