using HopCapture.Bench;

// hopcapture-bench [--packets N] [--agents N] [--ingest-seconds S] [--ingest-rate OBS_PER_S] [--only engine,offline,ingest] [--no-external] [--out DIR] [--work DIR]
// build/bench.sh runs it in Release and writes bench/RESULTS.md and bench/results.json.
var settings = BenchSettings.Parse(args, Console.Error);
if (settings is null)
{
    return 2;
}

var results = await BenchHarness.RunAsync(settings, Console.Out);
BenchReport.Write(results, settings);
Console.Out.WriteLine($"bench: results written to {Path.Combine(settings.OutputDirectory, "RESULTS.md")}");
return 0;
