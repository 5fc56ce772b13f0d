namespace HopCapture.Tests.Deploy;

/// <summary>
/// The few things the tests read from a systemd unit file: the values of a key in [Service]
/// (a key may repeat; an empty assignment resets it, as systemd does).
/// </summary>
internal sealed class UnitFile
{
    private readonly Dictionary<string, List<string>> _service = new(StringComparer.Ordinal);

    private UnitFile(string path)
    {
        Path = path;
        var section = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] is '#' or ';')
            {
                continue;
            }

            if (line[0] == '[')
            {
                section = line.Trim('[', ']');
                continue;
            }

            var equals = line.IndexOf('=', StringComparison.Ordinal);
            if (section != "Service" || equals < 0)
            {
                continue;
            }

            var key = line[..equals].Trim();
            var value = line[(equals + 1)..].Trim();
            if (!_service.TryGetValue(key, out var values))
            {
                _service[key] = values = [];
            }

            if (value.Length == 0)
            {
                values.Clear();
            }
            else
            {
                values.Add(value);
            }
        }
    }

    public string Path { get; }

    /// <summary>deploy/NAME in the repository.</summary>
    public static UnitFile FromRepository(string name) => new(System.IO.Path.Combine(RepoPaths.Root, "deploy", name));

    public static UnitFile Load(string path) => new(path);

    /// <summary>The single value of <paramref name="key"/> in [Service]; fails the test when absent.</summary>
    public string Single(string key)
    {
        Assert.That(_service.TryGetValue(key, out var values) && values.Count == 1, Is.True, $"{Path}: expected exactly one {key}=");
        return _service[key][0];
    }

    /// <summary>Every space-separated word of every assignment of <paramref name="key"/>.</summary>
    public IReadOnlyList<string> Words(string key) =>
        _service.TryGetValue(key, out var values)
            ? values.SelectMany(v => v.Split(' ', StringSplitOptions.RemoveEmptyEntries)).ToList()
            : [];
}
