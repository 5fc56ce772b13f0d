namespace HopCapture.Tests.Shared;

/// <summary>Where the repository and the built executables are, seen from a test assembly.</summary>
internal static class RepoPaths
{
    private static readonly Lazy<string> RootPath = new(FindRoot);

    /// <summary>The directory holding Capture.sln above the test assembly, or HC_REPO.</summary>
    public static string Root => RootPath.Value;

    /// <summary>Debug or Release: whichever the running test assembly was built as.</summary>
    public static string Configuration =>
        AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
            ? "Release"
            : "Debug";

    /// <summary>A project's built entry assembly, e.g. <c>Executable("Agent", "hopcapture-agent")</c>.</summary>
    public static string Executable(string project, string assembly, string? configuration = null) =>
        Path.Combine(Root, "src", project, "bin", configuration ?? Configuration, "net10.0", assembly + ".dll");

    private static string FindRoot()
    {
        if (Environment.GetEnvironmentVariable("HC_REPO") is { Length: > 0 } fromEnvironment)
        {
            return fromEnvironment;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Capture.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"no Capture.sln above {AppContext.BaseDirectory}; set HC_REPO to the repository root");
    }
}
