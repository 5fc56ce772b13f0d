using HopCapture.Bench;

// hopcapture-bench [--packets N] [--agents N] [--ingest-seconds S] [--ingest-rate OBS_PER_S] [--runs N] [--only engine,offline,ingest] [--no-external] [--out DIR] [--work DIR]
// build/bench.sh runs it in Release and writes bench/RESULTS.md and bench/results.json.
var settings = BenchSettings.Parse(args, Console.Error);
if (settings is null)
{
    return 2;
}

BenchResults results;
try
{
    results = await BenchHarness.RunAsync(settings, Console.Out);
}
catch (BenchException ex)
{
    // Exit 3: a comparison tool is missing (2 is a bad command line).
    await Console.Error.WriteLineAsync("bench: " + ex.Message);
    return 3;
}

BenchReport.Write(results, settings);
Console.Out.WriteLine($"bench: results written to {Path.Combine(settings.OutputDirectory, "RESULTS.md")}");
return 0;
