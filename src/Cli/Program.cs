using HopCapture.Cli;

using var interrupted = new CancellationTokenSource();

// First Ctrl-C asks the running command to stop (watch ends cleanly); a second one kills.
Console.CancelKeyPress += (_, e) =>
{
    if (!interrupted.IsCancellationRequested)
    {
        e.Cancel = true;
        interrupted.Cancel();
    }
};

return await CliApp.RunAsync(args, CliContext.ForConsole(), interrupted.Token);
