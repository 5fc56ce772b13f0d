using HopCapture.Correlator.Hosting;

return await CorrelatorApp.RunAsync(args, Console.Out, Console.Error);
