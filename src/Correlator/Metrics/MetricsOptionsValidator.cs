using HopCapture.Correlator.Hosting;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Metrics;

/// <summary>Every message starts with the full configuration key, as the correlator's own validator does.</summary>
public sealed class MetricsOptionsValidator : IValidateOptions<MetricsOptions>
{
    private const string Prefix = MetricsOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, MetricsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (!string.IsNullOrWhiteSpace(options.Listen) && !ListenEndpoint.TryParse(options.Listen, out _, out _))
        {
            failures.Add($"{Prefix}Listen: not ADDR:PORT (for example 127.0.0.1:9400)");
        }

        if (options.TopPaths is < 0 or > 10_000)
        {
            failures.Add($"{Prefix}TopPaths: must be 0-10000 (got {options.TopPaths}); every path is counted per node pair anyway");
        }

        if (options.SelectedPathLimit is < 0 or > 100_000)
        {
            failures.Add($"{Prefix}SelectedPathLimit: must be 0-100000 (got {options.SelectedPathLimit})");
        }

        if (options.RankInterval <= TimeSpan.Zero)
        {
            failures.Add($"{Prefix}RankInterval: must be positive (got {options.RankInterval})");
        }

        for (var i = 0; i < options.Paths.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Paths[i].Src) || string.IsNullOrWhiteSpace(options.Paths[i].Dst))
            {
                failures.Add($"{Prefix}Paths:{i}: Src and Dst must be globs over addresses (\"*\" for any)");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
