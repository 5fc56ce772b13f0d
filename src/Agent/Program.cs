using HopCapture.Agent;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Upload;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.CommandLine;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

try
{
    var commandLine = AgentCommandLine.Parse(args);
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        Args = [.. commandLine.Remaining],
        ContentRootPath = AppContext.BaseDirectory,
    });
    if (commandLine.ConfigFile is { } configFile)
    {
        var path = Path.GetFullPath(configFile);
        if (!File.Exists(path))
        {
            throw new AgentConfigException($"config file '{configFile}' does not exist");
        }

        // Before the command-line source, so flags and --Agent:Key=value override the file.
        var json = new JsonConfigurationSource { Path = path, Optional = false, ReloadOnChange = false };
        json.ResolveFileProvider();
        var sources = builder.Configuration.Sources;
        var commandLineIndex = sources.ToList().FindIndex(s => s is CommandLineConfigurationSource);
        sources.Insert(commandLineIndex < 0 ? sources.Count : commandLineIndex, json);
    }

    // Start-up failures are reported as one line below; the host's own stack-trace log would bury it.
    builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
    builder.Services.AddSystemd();
    builder.Services.AddCaptureAgent(builder.Configuration, commandLine);
    using var host = builder.Build();
    var uploader = host.Services.GetRequiredService<IngestUploader>();
    await host.RunAsync();
    if (uploader.Failure is { } failure)
    {
        // A refusal (node not allowed, bad Hello) is a configuration error: 2, which systemd does not restart.
        Console.Error.WriteLine("agent: " + failure.Message);
        return failure.Refused ? 2 : 1;
    }

    return 0;
}
catch (AgentConfigException ex)
{
    return Fail(ex.Message);
}
catch (AgentStartupException ex)
{
    return Fail(ex.Message);
}
catch (OptionsValidationException ex)
{
    return Fail(string.Join("; ", ex.Failures));
}
catch (InvalidDataException ex)
{
    // The JSON provider reports a broken config file this way.
    return Fail($"config file: {ex.Message} {ex.InnerException?.Message}".Trim());
}
catch (Exception ex) when (ex is not OperationCanceledException)
{
    Console.Error.WriteLine($"agent: {ex.GetType().Name}: {ex.Message}");
    return 1;
}

static int Fail(string message)
{
    Console.Error.WriteLine("agent: " + message);
    return 2;
}
