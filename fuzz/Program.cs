using HopCapture.Fuzz;

// hopcapture-fuzz TARGET                       run under AFL (build/fuzz.sh): one input per process start, stdin
// hopcapture-fuzz TARGET --replay DIR          every file of DIR; exit 1 on the first broken contract
// hopcapture-fuzz TARGET --mutate DIR N SEED   N seeded mutations of DIR's files, likewise
// hopcapture-fuzz --seed-corpus DIR            write the seed corpus (one valid input per framing)
if (args is ["--seed-corpus", var root])
{
    CorpusSeeds.Write(root);
    return 0;
}

if (args.Length == 0 || !FuzzTargets.All.TryGetValue(args[0], out var target))
{
    Console.Error.WriteLine($"usage: hopcapture-fuzz {string.Join('|', FuzzTargets.All.Keys)} [--replay DIR | --mutate DIR COUNT SEED]");
    return 2;
}

if (args.Length == 1)
{
    SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target(buffer.ToArray());
    });
    return 0;
}

var failures = args[1] switch
{
    "--replay" when args.Length == 3 => FuzzRunner.Replay(args[0], args[2]),
    "--mutate" when args.Length == 5 && int.TryParse(args[3], out var count) && int.TryParse(args[4], out var seed) =>
        FuzzRunner.Mutate(args[0], args[2], count, seed),
    _ => null,
};
if (failures is null)
{
    Console.Error.WriteLine("hopcapture-fuzz: expected --replay DIR or --mutate DIR COUNT SEED");
    return 2;
}

// Each breaking input is kept (by content hash) so it can be replayed and added to the corpus.
var saved = Path.Combine("artifacts", "fuzz", args[0]);
var failed = 0;
foreach (var failure in failures)
{
    failed++;
    Directory.CreateDirectory(saved);
    var file = Path.Combine(saved, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(failure.Input))[..16] + ".bin");
    File.WriteAllBytes(file, failure.Input);
    Console.Error.WriteLine($"hopcapture-fuzz: {failure.Target}: {failure.Problem} (input saved as {file})");
}

Console.WriteLine(failed == 0 ? $"{args[0]}: no contract broken" : $"{args[0]}: {failed} inputs broke the contract");
return failed == 0 ? 0 : 1;
