using System.Globalization;

namespace HopCapture.Agent.Discovery;

/// <summary>What /sys/class/net says about one link: only the few files discovery needs.</summary>
internal sealed record SysLink(
    string Name,
    int Type,
    string? OperState,
    bool Physical,
    bool Bridge,
    bool Bond,
    bool Tun,
    string? Master,
    IReadOnlyList<string> Slaves);

/// <summary>
/// Reads <c>&lt;root&gt;/sys/class/net</c> and <c>&lt;root&gt;/proc/net/vlan/config</c>. Every read tolerates a
/// link that vanishes between listing and reading (a VM stopping): that link is skipped.
/// </summary>
internal static class SysNet
{
    /// <summary>ARPHRD_LOOPBACK.</summary>
    private const int Loopback = 772;

    public static IReadOnlyList<SysLink> Links(string root, List<string> warnings)
    {
        var directory = Path.Combine(root, "sys/class/net");
        string[] entries;
        try
        {
            entries = Directory.GetFileSystemEntries(directory);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            warnings.Add($"{directory}: cannot list network interfaces ({ex.Message})");
            return [];
        }

        var links = new List<SysLink>(entries.Length);
        foreach (var entry in entries)
        {
            var name = Path.GetFileName(entry);
            if (!Directory.Exists(entry) || name == "bonding_masters")
            {
                continue;
            }

            var type = int.TryParse(Read(entry, "type"), NumberStyles.None, CultureInfo.InvariantCulture, out var t) ? t : 1;
            var bonding = Path.Combine(entry, "bonding");
            links.Add(new SysLink(
                name,
                type,
                Read(entry, "operstate"),
                Physical: Exists(Path.Combine(entry, "device")),
                Bridge: Directory.Exists(Path.Combine(entry, "bridge")),
                Bond: Directory.Exists(bonding),
                Tun: File.Exists(Path.Combine(entry, "tun_flags")),
                Master: MasterOf(entry),
                Slaves: Read(bonding, "slaves")?.Split(' ', StringSplitOptions.RemoveEmptyEntries) ?? []));
        }

        links.Sort((a, b) => string.CompareOrdinal(a.Name, b.Name));
        return links;
    }

    public static bool IsLoopback(SysLink link) => link.Name == "lo" || link.Type == Loopback;

    /// <summary>
    /// VLAN sub-interfaces: /proc/net/vlan/config when the 8021q module lists them, otherwise the
    /// iproute2 naming convention PARENT.VID with PARENT present.
    /// </summary>
    public static Dictionary<string, (string Parent, int Vid)> Vlans(string root, IReadOnlyList<SysLink> links)
    {
        var vlans = new Dictionary<string, (string, int)>(StringComparer.Ordinal);
        var names = links.Select(l => l.Name).ToHashSet(StringComparer.Ordinal);
        var config = Read(Path.Combine(root, "proc/net/vlan"), "config");
        foreach (var line in (config ?? "").Split('\n'))
        {
            // "eno1.100       | 100  | eno1"
            var parts = line.Split('|', StringSplitOptions.TrimEntries);
            if (parts.Length == 3 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var vid))
            {
                vlans[parts[0]] = (parts[2], vid);
            }
        }

        foreach (var name in names)
        {
            var dot = name.LastIndexOf('.');
            if (dot > 0 && !vlans.ContainsKey(name) && names.Contains(name[..dot])
                && int.TryParse(name.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var vid))
            {
                vlans[name] = (name[..dot], vid);
            }
        }

        return vlans;
    }

    /// <summary>The trimmed content of a small file, or null when it is missing or unreadable.</summary>
    /// <remarks>
    /// Called for a few files per link about once a second, so it reads into a stack buffer
    /// rather than through a FileStream and StreamReader (kilobytes of buffers per call).
    /// Sysfs attributes and the files read here are far below the buffer size.
    /// </remarks>
    public static string? Read(string directory, string file)
    {
        try
        {
            var path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                return null;
            }

            using var handle = File.OpenHandle(path);
            Span<byte> buffer = stackalloc byte[512];
            var length = RandomAccess.Read(handle, buffer, 0);
            return System.Text.Encoding.UTF8.GetString(buffer[..length]).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>True for a file, directory or symlink, even a dangling one (sysfs <c>device</c> links in fixtures).</summary>
    private static bool Exists(string path)
    {
        try
        {
            return Path.Exists(path) || new FileInfo(path).LinkTarget is not null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary><c>master</c> is a symlink to the master's directory in sysfs (a file holding the name is accepted too).</summary>
    private static string? MasterOf(string entry)
    {
        var path = Path.Combine(entry, "master");
        try
        {
            var info = new FileInfo(path);
            if (info.LinkTarget is { } target)
            {
                return Path.GetFileName(target.TrimEnd('/'));
            }

            return info.Exists ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
