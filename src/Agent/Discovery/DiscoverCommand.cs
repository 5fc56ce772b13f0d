using System.Globalization;
using System.Text;
using System.Text.Json;
using HopCapture.Agent.Configuration;
using HopCapture.Hosting.CommandLine;
using Microsoft.Extensions.Configuration;

namespace HopCapture.Agent.Discovery;

/// <summary>
/// <c>hopcapture-agent discover [--root DIR] [--json]</c>: prints what <c>Agent:Interfaces: auto</c>
/// would capture on this node, and what discovery could not read, then exits (0, or 1 when it found
/// nothing). It takes the agent's --config and --Agent:Key overrides, so Agent:Discovery applies.
/// </summary>
public static class DiscoverCommand
{
    public const string Name = "discover";

    private const string JsonFlag = "--json";

    public static readonly HostFlag RootFlag = new(
        "--root", "DIR", AgentOptions.Section + ":" + nameof(AgentOptions.DiscoveryRoot),
        "read etc/, sys/class/net/, run/ and proc/net/vlan under DIR instead of / (a copy of a node's files)");

    public static HostCommandLine Definition { get; } = new(
        "hopcapture-agent discover", AgentOptions.Section, [RootFlag], typeof(DiscoverCommand).Assembly)
    {
        Summary = "Prints the interfaces Agent:Interfaces \"auto\" would capture on this node (Proxmox, libvirt or guest) and the files it could not read.\n"
                  + "  --json   print one JSON object instead of the table",
        Epilog = "example: hopcapture-agent discover --root /tmp/node-copy --json\n"
                 + "exit codes: 0 interfaces found, 1 none found, 2 bad command line or configuration",
    };

    /// <returns>The process exit code.</returns>
    public static int Run(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);

        // --json is a switch without a value, which HostFlag (a flag that sets a key) does not model.
        var json = args.Contains(JsonFlag, StringComparer.Ordinal);
        if (!Definition.TryParse([.. args.Where(a => a != JsonFlag)], stdout, stderr, out var arguments, out var exitCode))
        {
            return exitCode;
        }

        AgentOptions options;
        try
        {
            var builder = new ConfigurationBuilder();
            if (arguments.ConfigFile is { } file)
            {
                var path = Path.GetFullPath(file);
                if (!File.Exists(path))
                {
                    stderr.WriteLine(Definition.ErrorLine($"config file '{file}' does not exist"));
                    return HostCommandLine.ExitUsage;
                }

                builder.AddJsonFile(path, optional: false, reloadOnChange: false);
            }

            var configuration = builder.AddInMemoryCollection(arguments.Settings).Build();
            options = new AgentOptions();
            configuration.GetSection(AgentOptions.Section).Bind(options);
        }
        catch (Exception ex) when (ex is InvalidDataException or InvalidOperationException or FormatException)
        {
            stderr.WriteLine(Definition.ErrorLine($"configuration: {ex.Message} {ex.InnerException?.Message}".Trim()));
            return HostCommandLine.ExitUsage;
        }

        var result = new HostDiscovery(options.DiscoveryRoot, options.Discovery).Current();
        if (json)
        {
            WriteJson(stdout, result);
        }
        else
        {
            WriteTable(stdout, result);
        }

        return result.Interfaces.Count > 0 ? 0 : 1;
    }

    public static void WriteTable(TextWriter writer, DiscoveryResult result)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        string[] header = ["name", "role", "point", "source", "vm id", "vm name", "nic", "vm mac", "detail"];
        var rows = result.Interfaces.Select(i => new[]
        {
            i.Name, i.Role.ToString().ToLowerInvariant(), i.Point, i.Source, i.VmId ?? "-", i.VmName ?? "-",
            i.VmNic < 0 ? "-" : i.VmNic.ToString(CultureInfo.InvariantCulture), i.VmMac ?? "-", i.Detail ?? "",
        }).ToList();
        writer.WriteLine($"{result.Kind} node: {result.Interfaces.Count} interface(s) to capture");
        if (rows.Count > 0)
        {
            var widths = header.Select((h, c) => Math.Max(h.Length, rows.Max(r => r[c].Length))).ToArray();
            writer.WriteLine(Line(header, widths));
            foreach (var row in rows)
            {
                writer.WriteLine(Line(row, widths));
            }
        }

        foreach (var warning in result.Warnings)
        {
            writer.WriteLine("warning: " + warning);
        }
    }

    public static void WriteJson(TextWriter writer, DiscoveryResult result)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);

        // Utf8JsonWriter rather than the reflection serializer: the agent is published trimmed.
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("kind", result.Kind);
            json.WriteStartArray("interfaces");
            foreach (var i in result.Interfaces)
            {
                json.WriteStartObject();
                json.WriteString("name", i.Name);
                json.WriteString("role", i.Role.ToString().ToLowerInvariant());
                json.WriteString("point", i.Point);
                json.WriteString("source", i.Source);
                json.WriteString("vmId", i.VmId);
                json.WriteString("vmName", i.VmName);
                json.WriteNumber("vmNic", i.VmNic);
                json.WriteString("vmMac", i.VmMac);
                json.WriteString("detail", i.Detail);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("warnings");
            foreach (var warning in result.Warnings)
            {
                json.WriteStringValue(warning);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        writer.WriteLine(Encoding.UTF8.GetString(stream.ToArray()));
    }

    private static string Line(string[] cells, int[] widths) =>
        string.Join("  ", cells.Select((c, i) => i == cells.Length - 1 ? c : c.PadRight(widths[i]))).TrimEnd();
}
