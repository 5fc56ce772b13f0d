using HopCapture.Cli.Connection;
using HopCapture.Engine.Model;

namespace HopCapture.Cli.Commands;

/// <summary>
/// One capture file and where it was taken: <c>NODE:IFACE:ROLE[:POINT]=FILE</c>, or
/// <c>NODE:ROLE=FILE</c> to take interface names from a pcapng file (the file name otherwise).
/// </summary>
/// <param name="Iface">null: from the file (pcapng interface names, else the file name).</param>
public sealed record AnalyzeInput(string Path, string Node, string? Iface, PointRole Role, string? Point)
{
    public const string Syntax = "NODE:IFACE:ROLE[:POINT]=FILE or NODE:ROLE=FILE (roles: guest, vif, bridge, nic)";

    /// <summary>Parses one spec; relative paths are resolved against <paramref name="baseDirectory"/>.</summary>
    public static bool TryParse(string text, string? baseDirectory, out AnalyzeInput input, out string error)
    {
        ArgumentNullException.ThrowIfNull(text);
        input = null!;
        var equals = text.IndexOf('=', StringComparison.Ordinal);
        if (equals <= 0 || equals == text.Length - 1)
        {
            error = $"'{text}' is not a tagged file: write {Syntax}";
            return false;
        }

        var path = text[(equals + 1)..].Trim();
        var parts = text[..equals].Split(':');
        string node;
        string? iface = null;
        string roleText;
        string? point = null;
        switch (parts.Length)
        {
            case 2:
                (node, roleText) = (parts[0], parts[1]);
                break;
            case 3:
                (node, iface, roleText) = (parts[0], parts[1], parts[2]);
                break;
            case 4:
                (node, iface, roleText, point) = (parts[0], parts[1], parts[2], parts[3]);
                break;
            default:
                error = $"'{text}': the tag before '=' has {parts.Length} parts; write {Syntax}";
                return false;
        }

        node = node.Trim();
        if (node.Length == 0)
        {
            error = $"'{text}': the node name is empty; write {Syntax}";
            return false;
        }

        if (iface is { } named && (named.Trim().Length == 0 || named.Trim() == "*"))
        {
            iface = null;
        }

        PointRole role = roleText.Trim().ToLowerInvariant() switch
        {
            "guest" => PointRole.Guest,
            "vif" => PointRole.Vif,
            "bridge" => PointRole.Bridge,
            "nic" => PointRole.Nic,
            _ => PointRole.Unknown,
        };
        if (role == PointRole.Unknown)
        {
            error = $"'{text}': '{roleText}' is not a role (guest, vif, bridge or nic)";
            return false;
        }

        if (baseDirectory is not null && !System.IO.Path.IsPathRooted(path))
        {
            path = System.IO.Path.Combine(baseDirectory, path);
        }

        input = new AnalyzeInput(path, node, iface?.Trim(), role, string.IsNullOrWhiteSpace(point) ? null : point.Trim());
        error = "";
        return true;
    }

    /// <summary>
    /// A map file: one spec per line, '#' starts a comment; relative paths are relative to the
    /// map file. Errors name the file and line.
    /// </summary>
    public static List<AnalyzeInput> ReadMap(string mapPath)
    {
        ArgumentNullException.ThrowIfNull(mapPath);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(mapPath);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliUsageException($"--map: cannot read '{mapPath}': {ex.Message}");
        }

        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(mapPath));
        var inputs = new List<AnalyzeInput>();
        for (var i = 0; i < lines.Length; i++)
        {
            var line = lines[i];
            var hash = line.IndexOf('#', StringComparison.Ordinal);
            line = (hash >= 0 ? line[..hash] : line).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (!TryParse(line, directory, out var input, out var error))
            {
                throw new CliUsageException($"--map {mapPath} line {i + 1}: {error}");
            }

            inputs.Add(input);
        }

        return inputs;
    }
}
