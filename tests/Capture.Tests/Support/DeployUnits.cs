namespace HopCapture.Tests.Support;

/// <summary>The systemd units in deploy/, read as shipped.</summary>
internal static class DeployUnits
{
    /// <summary>
    /// The arguments after the program on <paramref name="unit"/>'s ExecStart line: the packaged
    /// binary (<c>/usr/bin/hopcapture-agent</c>) or, in older units, <paramref name="dll"/> run by dotnet.
    /// </summary>
    public static string[] ExecStartArguments(string unit, string dll)
    {
        var execStart = File.ReadAllLines(Path.Combine(RepoPaths.Root, "deploy", unit)).Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var words = execStart.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var binary = "/" + Path.GetFileNameWithoutExtension(dll);
        return [.. words.SkipWhile(w => !w.EndsWith(dll, StringComparison.Ordinal) && !w.EndsWith(binary, StringComparison.Ordinal)).Skip(1)];
    }
}
