namespace HopCapture.Agent.Spool;

/// <summary>
/// An exclusive lock file in a directory, so two agent processes never share an identity or a
/// spool (two agents on one state directory would send each other's batches under one seq
/// numbering). .NET takes an advisory flock for <see cref="FileShare.None"/>; the kernel releases
/// it when the process dies, SIGKILL included, so a crash never leaves the directory locked.
/// </summary>
internal static class DirectoryLock
{
    public const string FileName = "agent.lock";

    /// <exception cref="AgentStateException">The directory cannot be created or another process holds it.</exception>
    public static FileStream Acquire(string directory, string key)
    {
        var path = Path.Combine(directory, FileName);
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex) when (File.Exists(path) && ex is not PathTooLongException)
        {
            throw new AgentStateException($"{key}: '{directory}' is in use by another agent process ({ex.Message}); give each agent its own directory", ex);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new AgentStateException($"{key}: cannot use '{directory}': {ex.Message}", ex);
        }
    }
}
