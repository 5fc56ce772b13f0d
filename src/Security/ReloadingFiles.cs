using System.Security.Cryptography.X509Certificates;

namespace HopCapture.Security;

/// <summary>
/// A value loaded from files and loaded again when any of them changes on disk (size or write
/// time), checked whenever <see cref="Current"/> is read — that is, at each new TLS connection —
/// so a rotated certificate is used from the next connection on, without a restart. A reload
/// that fails (a rotation caught half-written) keeps the previous value and is retried on the
/// next read; <see cref="LastError"/> says why.
/// </summary>
public sealed class ReloadingFiles<T>
    where T : class
{
    private readonly string[] _paths;
    private readonly Func<T> _load;
    private readonly Lock _lock = new();
    private (long Length, DateTime WriteTime)[] _stamps;
    private T _current;

    /// <exception cref="PemFileException">The first load fails: a configuration error at start.</exception>
    public ReloadingFiles(Func<T> load, params string[] paths)
    {
        ArgumentNullException.ThrowIfNull(load);
        _paths = paths;
        _load = load;
        _stamps = Stamps();
        _current = load();
    }

    public T Current
    {
        get
        {
            var stamps = Stamps();
            lock (_lock)
            {
                if (stamps.SequenceEqual(_stamps))
                {
                    return _current;
                }

                try
                {
                    _current = _load();
                    LastError = null;
                }
                catch (PemFileException ex)
                {
                    LastError = ex.Message;
                    return _current;
                }

                _stamps = stamps;
                Reloads++;
                return _current;
            }
        }
    }

    /// <summary>How often the files were loaded again after a change.</summary>
    public int Reloads { get; private set; }

    public string? LastError { get; private set; }

    private (long, DateTime)[] Stamps() =>
    [
        .. _paths.Select(p =>
        {
            var info = new FileInfo(p);
            return info.Exists ? (info.Length, info.LastWriteTimeUtc) : (-1L, DateTime.MinValue);
        }),
    ];
}

/// <summary>The reloading forms the hosts use.</summary>
public static class Reloading
{
    public static ReloadingFiles<X509Certificate2> Certificate(string certificateSetting, string certificatePath, string keySetting, string keyPath) =>
        new(() => PemFiles.LoadCertificate(certificateSetting, certificatePath, keySetting, keyPath), certificatePath, keyPath);

    public static ReloadingFiles<X509Certificate2Collection> Bundle(string setting, string path) =>
        new(() => PemFiles.LoadBundle(setting, path), path);
}
