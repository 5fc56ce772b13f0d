using HopCapture.Agent;
using HopCapture.Agent.Capture;
using HopCapture.Agent.Configuration;
using HopCapture.Agent.Discovery;
using HopCapture.Agent.Spool;
using HopCapture.Agent.Upload;
using HopCapture.Hosting.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

if (args.Length > 0 && args[0] == DiscoverCommand.Name)
{
    return DiscoverCommand.Run(args[1..], Console.Out, Console.Error);
}

if (!AgentCommandLine.Definition.TryParse(args, Console.Out, Console.Error, out var arguments, out var exitCode))
{
    return exitCode;
}

AgentCommandLine commandLine;
try
{
    commandLine = AgentCommandLine.From(arguments);
}
catch (AgentConfigException ex)
{
    Console.Error.WriteLine(AgentCommandLine.Definition.ErrorLine(ex.Message));
    return HostCommandLine.ExitUsage;
}

try
{
    var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
    {
        // No Args: the command line was parsed above; its keys are added last, below.
        ContentRootPath = AppContext.BaseDirectory,
    });
    if (commandLine.ConfigFile is { } configFile)
    {
        var path = Path.GetFullPath(configFile);
        if (!File.Exists(path))
        {
            throw new AgentConfigException($"config file '{configFile}' does not exist");
        }

        var json = new JsonConfigurationSource { Path = path, Optional = false, ReloadOnChange = false };
        json.ResolveFileProvider();
        builder.Configuration.Sources.Add(json);
    }

    // After the file, so flags and --Agent:Key=VALUE override it.
    builder.Configuration.AddInMemoryCollection(commandLine.Settings);

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
catch (AgentStateException ex)
{
    // Permissions, a full disk, another agent on the directory: restarting will not fix it (the
    // unit does not restart on 3), and the line names the path and the key.
    Console.Error.WriteLine("agent: " + ex.Message);
    return AgentStateException.ExitCode;
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
