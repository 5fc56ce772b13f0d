using System.Net.Sockets;
using System.Text.RegularExpressions;
using HopCapture.Correlator.Storage;
using HopCapture.Hosting.CommandLine;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Hosting;

/// <summary>
/// Builds and runs the correlator host. The exe and the tests go through the same
/// <see cref="Build"/>, so what the tests start is what ships.
/// </summary>
public static partial class CorrelatorApp
{
    /// <summary>Exit code for bad configuration or a listen address that cannot be used.</summary>
    public const int ExitConfig = 2;

    /// <summary>Exit code when a background loop failed and stopped the host (systemd restarts it).</summary>
    public const int ExitFailed = 1;

    /// <param name="args">Command line as the exe receives it.</param>
    /// <param name="overrides">Configuration keys applied last (tests: short settle times…).</param>
    /// <exception cref="CommandLineException">The command line is unusable.</exception>
    /// <exception cref="CorrelatorStartupException">The config file or a setting is unusable.</exception>
    public static WebApplication Build(IReadOnlyList<string> args, IReadOnlyDictionary<string, string?>? overrides = null) =>
        Build(CorrelatorCommandLine.Definition.Parse(args), overrides);

    /// <param name="commandLine">The parsed command line.</param>
    /// <param name="overrides">Configuration keys applied last (tests: short settle times…).</param>
    /// <exception cref="CorrelatorStartupException">The config file or a setting is unusable.</exception>
    public static WebApplication Build(HostArguments commandLine, IReadOnlyDictionary<string, string?>? overrides = null)
    {
        ArgumentNullException.ThrowIfNull(commandLine);
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            ApplicationName = typeof(CorrelatorApp).Assembly.GetName().Name,
            ContentRootPath = AppContext.BaseDirectory,
        });

        // Only the sources documented for the correlator; appsettings files lying around the
        // working directory must not change behaviour silently.
        builder.Configuration.Sources.Clear();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Logging:LogLevel:Default"] = "Information",
            ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
            ["Logging:LogLevel:Microsoft.Hosting.Lifetime"] = "Warning",
            ["Logging:LogLevel:Grpc"] = "Warning",

            // The host logs a start failure with its stack trace; we print one line instead.
            ["Logging:LogLevel:Microsoft.Extensions.Hosting.Internal.Host"] = "Critical",
        });
        if (commandLine.ConfigFile is { } file)
        {
            var path = Path.GetFullPath(file);
            if (!File.Exists(path))
            {
                throw new CorrelatorStartupException("--config", $"file '{path}' does not exist");
            }

            try
            {
                // The configuration manager loads the file right here, so a broken file fails now.
                // Reloaded on change: alert rules and probe plans apply without a restart.
                builder.Configuration.AddJsonFile(path, optional: false, reloadOnChange: true);
            }
            catch (Exception ex) when (ex is InvalidDataException or FormatException or System.Text.Json.JsonException)
            {
                throw new CorrelatorStartupException("--config", $"'{path}' is not valid JSON: {FirstLine(ex.GetBaseException())}");
            }
        }

        builder.Configuration.AddEnvironmentVariables("HOPCAPTURE_");
        builder.Configuration.AddInMemoryCollection(commandLine.Settings);
        if (overrides is not null)
        {
            builder.Configuration.AddInMemoryCollection(overrides);
        }

        // stdout carries only the start line; logs go to stderr (the journal under systemd).
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Host.UseSystemd();
        builder.Services.AddCorrelator(builder.Configuration);

        // Building the web host already creates Kestrel, which reads the options: check them
        // first so a bad value is reported as one line naming its key, not as a crash.
        CheckOptions(builder.Configuration);

        var app = builder.Build();
        app.MapCorrelator();
        return app;
    }

    /// <summary>The address Kestrel actually bound (port 0 resolved), e.g. http://127.0.0.1:7400.</summary>
    public static string ListeningAddress(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses;
        return addresses?.FirstOrDefault() ?? "";
    }

    public static string StartLine(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return $"correlator listening on {ListeningAddress(app)}, db {app.Services.GetRequiredService<IResultsStore>().Location}";
    }

    /// <summary>The start line naming the GC heap limit (<see cref="HeapLimitBytes"/>; 0 = "none").</summary>
    public static string MemoryLine(long limit) =>
        $"correlator: GC heap limit {(limit > 0 ? $"{limit / (1024 * 1024)} MiB" : "none")} (DOTNET_GCHeapHardLimit, hex bytes, overrides it)";

    /// <summary>
    /// The GC heap's limit in bytes as the runtime applies it: 256 MiB from the shipped
    /// runtimeconfig (System.GC.HeapHardLimit), or what DOTNET_GCHeapHardLimit (hex bytes) sets
    /// instead; 0 when 0 lifts it (the runtime then reports the machine's memory, or its cgroup's).
    /// </summary>
    public static long HeapLimitBytes()
    {
        var available = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        var machine = MachineMemoryBytes();
        return available < machine - (machine / 100) ? available : 0;
    }

    /// <summary>In-flight probes the shipped 256 MiB heap held through a start at 1.1 M obs/s (128,000 ran out of memory).</summary>
    private const int ProbesPer256MiB = 64_000;

    /// <summary>
    /// A warning line when <paramref name="maxInFlight"/> is more than <paramref name="heapLimitBytes"/>
    /// (0 = none) held in proportion to what 256 MiB held; null when it fits. Raising the limit of
    /// probes alone ran the correlator out of memory in a start-up transient (it stops, systemd
    /// restarts it, the journal replays: nothing acked is lost, but it is down meanwhile).
    /// </summary>
    public static string? MemoryWarning(int maxInFlight, long heapLimitBytes)
    {
        const long Mib256 = 256L << 20;
        if (heapLimitBytes <= 0 || maxInFlight <= ProbesPer256MiB * heapLimitBytes / Mib256)
        {
            return null;
        }

        var needed = Math.Max(Mib256, (maxInFlight * Mib256 + ProbesPer256MiB - 1) / ProbesPer256MiB);
        var mib = ((needed + (64L << 20) - 1) / (64L << 20)) * 64;
        return string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"correlator: Correlator:Engine:MaxInFlight {maxInFlight} may not fit the GC heap limit of {heapLimitBytes >> 20} MiB " +
            $"({ProbesPer256MiB:N0} fit 256 MiB through a start at full rate, 128,000 ran out of memory): raise it with the probes, " +
            $"e.g. DOTNET_GCHeapHardLimit=0x{mib << 20:X} ({mib} MiB)");
    }

    /// <summary>MemTotal of /proc/meminfo in bytes (long.MaxValue where it cannot be read).</summary>
    private static long MachineMemoryBytes()
    {
        try
        {
            var line = File.ReadLines("/proc/meminfo").FirstOrDefault(static l => l.StartsWith("MemTotal:", StringComparison.Ordinal));
            var kib = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
            return long.TryParse(kib, System.Globalization.CultureInfo.InvariantCulture, out var value) ? value * 1024 : long.MaxValue;
        }
        catch (IOException)
        {
            return long.MaxValue;
        }
    }

    /// <summary>Starts the host, or throws <see cref="CorrelatorStartupException"/> for anything the operator must fix.</summary>
    public static async Task StartAsync(WebApplication app, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(app);
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (Exception ex) when (Describe(ex, app) is { } startup)
        {
            throw startup;
        }
    }

    /// <summary>The exe: start, print the start line, run until SIGINT/SIGTERM. Returns the exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        if (!CorrelatorCommandLine.Definition.TryParse(args, stdout, stderr, out var commandLine, out var exitCode))
        {
            return exitCode;
        }

        WebApplication app;
        try
        {
            app = Build(commandLine);
        }
        catch (CorrelatorStartupException ex)
        {
            await stderr.WriteLineAsync($"correlator: {ex.Key}: {ex.Problem}");
            return ExitConfig;
        }

        await using (app)
        {
            try
            {
                await StartAsync(app);
            }
            catch (CorrelatorStartupException ex)
            {
                await stderr.WriteLineAsync($"correlator: {ex.Key}: {ex.Problem}");
                return ExitConfig;
            }
            catch (Exception ex)
            {
                await stderr.WriteLineAsync($"correlator: start failed: {FirstLine(ex.GetBaseException())}");
                return ExitFailed;
            }

            await stdout.WriteLineAsync(StartLine(app));
            await stdout.FlushAsync();
            var heapLimit = HeapLimitBytes();
            await stderr.WriteLineAsync(MemoryLine(heapLimit));
            if (MemoryWarning(app.Services.GetRequiredService<IOptions<CorrelatorOptions>>().Value.Engine.MaxInFlight, heapLimit) is { } warning)
            {
                await stderr.WriteLineAsync(warning);
            }

            await app.WaitForShutdownAsync();

            var failed = app.Services.GetServices<IHostedService>().OfType<BackgroundService>()
                .FirstOrDefault(s => s.ExecuteTask is { IsFaulted: true });
            if (failed is not null)
            {
                await stderr.WriteLineAsync($"correlator: {failed.GetType().Name} failed: {FirstLine(failed.ExecuteTask!.Exception!.GetBaseException())}");
                return ExitFailed;
            }
        }

        return 0;
    }

    private static void CheckOptions(ConfigurationManager configuration)
    {
        var options = new CorrelatorOptions();
        try
        {
            configuration.GetSection(CorrelatorOptions.SectionName).Bind(options);
        }
        catch (InvalidOperationException ex) when (Describe(ex, null) is { } startup)
        {
            throw startup;
        }

        var result = new CorrelatorOptionsValidator().Validate(Options.DefaultName, options);
        if (result.Failed)
        {
            throw Describe(new OptionsValidationException(Options.DefaultName, typeof(CorrelatorOptions), result.Failures), null)!;
        }
    }

    private static CorrelatorStartupException? Describe(Exception ex, WebApplication? app)
    {
        switch (ex)
        {
            case CorrelatorStartupException startup:
                return startup;
            case OptionsValidationException validation:
                var failures = validation.Failures.ToList();
                var first = failures.FirstOrDefault() ?? validation.Message;
                var (key, problem) = SplitKey(first);
                if (failures.Count > 1)
                {
                    problem += $" (and {failures.Count - 1} more problems)";
                }

                return new CorrelatorStartupException(key, problem, ex);
            case InvalidOperationException when ConversionFailure().Match(ex.Message) is { Success: true } match:
                var type = match.Groups["type"].Value.Replace("System.", "", StringComparison.Ordinal);
                var hint = type == "TimeSpan" ? " (use [d.]hh:mm:ss[.fff], e.g. 00:00:01.5)" : "";
                return new CorrelatorStartupException(match.Groups["key"].Value, $"'{match.Groups["value"].Value}' is not a valid {type}{hint}", ex);
            case SocketException or IOException when ex is SocketException || ex.InnerException is AddressInUseException or SocketException
                                                     || ex.Message.StartsWith("Failed to bind", StringComparison.Ordinal):
                var listen = app?.Services.GetRequiredService<IOptions<CorrelatorOptions>>().Value.Listen ?? "";
                var reason = ex.InnerException is AddressInUseException ? "address already in use" : FirstLine(ex.InnerException ?? ex).ToLowerInvariant();
                return new CorrelatorStartupException(CorrelatorOptions.SectionName + ":Listen", $"cannot listen on {listen}: {reason}", ex);
            default:
                return null;
        }
    }

    private static (string Key, string Problem) SplitKey(string failure)
    {
        var separator = failure.IndexOf(": ", StringComparison.Ordinal);
        return separator > 0 ? (failure[..separator], failure[(separator + 2)..]) : (CorrelatorOptions.SectionName, failure);
    }

    private static string FirstLine(Exception ex) => ex.Message.Split('\n')[0].Trim();

    [GeneratedRegex("value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'", RegexOptions.Singleline)]
    private static partial Regex ConversionFailure();
}
