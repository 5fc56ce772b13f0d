namespace HopCapture.Tests.Support;

/// <summary>The systemd units in deploy/, read as shipped.</summary>
internal static class DeployUnits
{
    /// <summary>The arguments after <paramref name="dll"/> on <paramref name="unit"/>'s ExecStart line.</summary>
    public static string[] ExecStartArguments(string unit, string dll)
    {
        var execStart = File.ReadAllLines(Path.Combine(RepoPaths.Root, "deploy", unit)).Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal));
        var words = execStart.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return [.. words.SkipWhile(w => !w.EndsWith(dll, StringComparison.Ordinal)).Skip(1)];
    }
}
