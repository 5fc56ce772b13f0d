using HopCapture.Agent.Configuration;
using Microsoft.Extensions.Logging;

namespace HopCapture.Agent.Spool;

/// <summary>
/// The agent's state directory (Agent:StateDirectory, the unit's StateDirectory=), held locked
/// for the process's life, and the identity kept in it: the instance id the correlator keys its
/// batch numbering by, created once and written atomically (temp file, fsync, rename), so an
/// agent restart continues its seqs instead of starting a new instance at 1. An id file that is
/// there but unreadable as an id (hand-edited, a torn write on a filesystem without atomic
/// rename) is replaced by a new id with a warning: a new identity starts a new numbering at the
/// correlator, which loses nothing, where refusing to start would stop capture.
/// </summary>
public sealed class AgentStateDirectory : IDisposable
{
    public const string IdentityFileName = "instance-id";
    private readonly FileStream _lock;

    private AgentStateDirectory(string path, FileStream lockFile, string instanceId)
    {
        Path = path;
        _lock = lockFile;
        InstanceId = instanceId;
    }

    public string Path { get; }

    /// <summary>This agent's identity at the correlator (Hello.instance_id).</summary>
    public string InstanceId { get; }

    /// <exception cref="AgentStateException">The directory cannot be created, locked, read or written.</exception>
    public static AgentStateDirectory Open(string path, ILogger logger)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(logger);
        var full = System.IO.Path.GetFullPath(path);
        const string Key = AgentOptions.Section + ":StateDirectory";
        var lockFile = DirectoryLock.Acquire(full, Key);
        try
        {
            var file = System.IO.Path.Combine(full, IdentityFileName);
            string? id = null;
            if (File.Exists(file))
            {
                var text = File.ReadAllText(file).Trim();
                if (Guid.TryParse(text, out var parsed))
                {
                    id = parsed.ToString();
                    SpoolLog.IdentityKept(logger, id, file);
                }
                else
                {
                    SpoolLog.IdentityCorrupt(logger, file, text.Length > 40 ? text[..40] + "…" : text);
                }
            }

            if (id is null)
            {
                id = Guid.NewGuid().ToString();
                WriteAtomically(file, id + "\n");
                SpoolLog.IdentityCreated(logger, id, file);
            }

            return new AgentStateDirectory(full, lockFile, id);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            lockFile.Dispose();
            throw new AgentStateException($"{Key}: cannot keep the agent's identity in '{full}': {ex.Message}", ex);
        }
    }

    public void Dispose() => _lock.Dispose();

    private static void WriteAtomically(string file, string content)
    {
        var temp = file + ".tmp";
        using (var stream = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            stream.Write(System.Text.Encoding.UTF8.GetBytes(content));
            stream.Flush(flushToDisk: true);
        }

        File.Move(temp, file, overwrite: true);
    }
}
