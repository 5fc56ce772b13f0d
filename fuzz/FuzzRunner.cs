using System.Diagnostics;

namespace HopCapture.Fuzz;

/// <summary>One input that broke a target's contract.</summary>
public sealed record FuzzFailure(string Target, byte[] Input, string Problem);

/// <summary>
/// Runs inputs through a target in process and checks what a coverage-guided fuzzer cannot see
/// by itself: no exception, no hang, and no allocation beyond what the input justifies
/// (<see cref="AllowedBytes"/>). Used to replay the corpus in CI and for a bounded, seeded
/// mutation run; AFL (build/fuzz.sh) finds new inputs for the corpus.
/// </summary>
public static class FuzzRunner
{
    public static readonly TimeSpan PerInput = TimeSpan.FromSeconds(2);

    /// <summary>
    /// What a target may allocate for one input: a fixed part (the decoder: nothing to speak of;
    /// the capture reader: its 1 MiB read buffer; ingest: the parsed message) plus a few times the
    /// input — never what a length field inside the input merely claims.
    /// </summary>
    public static long AllowedBytes(string target, int inputLength) => target switch
    {
        "decoder" => 1024,
        "capture-file" => 1_280 * 1024 + 8L * inputLength,
        _ => 64 * 1024 + 16L * inputLength,
    };

    public static FuzzFailure? RunOne(string target, Action<byte[]> run, byte[] input)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentNullException.ThrowIfNull(input);
        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var clock = Stopwatch.StartNew();
        try
        {
            run(input);
        }
        catch (Exception ex)
        {
            var at = ex.StackTrace?.Split('\n', StringSplitOptions.TrimEntries).FirstOrDefault() ?? "";
            return new FuzzFailure(target, input, $"{ex.GetType().Name}: {ex.Message} {at}".TrimEnd());
        }

        var elapsed = clock.Elapsed;
        var bytes = GC.GetAllocatedBytesForCurrentThread() - allocated;
        if (elapsed > PerInput)
        {
            return new FuzzFailure(target, input, $"took {elapsed.TotalMilliseconds:0} ms (limit {PerInput.TotalMilliseconds:0} ms)");
        }

        return bytes > AllowedBytes(target, input.Length)
            ? new FuzzFailure(target, input, $"allocated {bytes:N0} bytes for a {input.Length:N0}-byte input (limit {AllowedBytes(target, input.Length):N0})")
            : null;
    }

    /// <summary>Every file of the target's corpus folder.</summary>
    public static IEnumerable<FuzzFailure> Replay(string target, string corpus)
    {
        var run = FuzzTargets.All[target];
        foreach (var file in Directory.EnumerateFiles(corpus).Order(StringComparer.Ordinal))
        {
            if (RunOne(target, run, File.ReadAllBytes(file)) is { } failure)
            {
                yield return failure with { Problem = $"{Path.GetFileName(file)}: {failure.Problem}" };
            }
        }
    }

    /// <summary>
    /// <paramref name="count"/> mutations of the corpus inputs (bit flips, byte sets, cuts,
    /// insertions, interesting integers in length fields), from <paramref name="seed"/>, so a
    /// failure is reproducible.
    /// </summary>
    public static IEnumerable<FuzzFailure> Mutate(string target, string corpus, int count, int seed)
    {
        var run = FuzzTargets.All[target];
        var seeds = Directory.EnumerateFiles(corpus).Order(StringComparer.Ordinal).Select(File.ReadAllBytes).ToList();
        if (seeds.Count == 0)
        {
            yield break;
        }

        var random = new Random(seed);
        for (var i = 0; i < count; i++)
        {
            var input = Mutation(seeds[random.Next(seeds.Count)], random);
            if (RunOne(target, run, input) is { } failure)
            {
                yield return failure with { Problem = $"mutation {i} (seed {seed}): {failure.Problem}" };
            }
        }
    }

    private static readonly uint[] Interesting = [0, 1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 24, 28, 32];

    private static byte[] Mutation(byte[] source, Random random)
    {
        var data = new List<byte>(source);
        var edits = 1 + random.Next(4);
        for (var e = 0; e < edits; e++)
        {
            if (data.Count == 0)
            {
                data.Add((byte)random.Next(256));
                continue;
            }

            var at = random.Next(data.Count);
            switch (random.Next(6))
            {
                case 0:
                    data[at] ^= (byte)(1 << random.Next(8));
                    break;
                case 1:
                    data[at] = (byte)random.Next(256);
                    break;
                case 2:
                    data.RemoveRange(at, data.Count - at); // a cut file
                    break;
                case 3:
                    data.InsertRange(at, Enumerable.Range(0, 1 + random.Next(16)).Select(_ => (byte)random.Next(256)));
                    break;
                case 4:
                    var value = Interesting[random.Next(Interesting.Length)];
                    for (var b = 0; b < 4 && at + b < data.Count; b++)
                    {
                        data[at + b] = (byte)(value >> (8 * (random.Next(2) == 0 ? b : 3 - b)));
                    }

                    break;
                default:
                    data.RemoveAt(at);
                    break;
            }
        }

        return [.. data];
    }
}
