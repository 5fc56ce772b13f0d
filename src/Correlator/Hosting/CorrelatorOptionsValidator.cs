using System.Globalization;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Hosting;

/// <summary>
/// Checks the whole section at start. Every message begins with the full configuration key so
/// the one-line start error tells the operator exactly what to fix.
/// </summary>
public sealed class CorrelatorOptionsValidator : IValidateOptions<CorrelatorOptions>
{
    private const string Prefix = CorrelatorOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, CorrelatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();

        if (!ListenEndpoint.TryParse(options.Listen, out var listen, out var listenProblem))
        {
            failures.Add($"{Prefix}Listen: {listenProblem}");
            listen = null;
        }

        Security.SecurityOptionsValidator.Validate(options, listen, failures);

        if (string.IsNullOrWhiteSpace(options.Database))
        {
            failures.Add($"{Prefix}Database: must name a SQLite file");
        }

        foreach (var node in options.AllowedNodes ?? [])
        {
            if (!HopCapture.Security.NodeNames.IsValid(node, out var problem))
            {
                failures.Add($"{Prefix}AllowedNodes: '{node}' {problem}");
            }
        }

        if (options.IngestQueueBytes < 1024 * 1024)
        {
            failures.Add($"{Prefix}IngestQueueBytes: must be at least 1048576 (got {options.IngestQueueBytes})");
        }

        if (options.MaxMessageBytes < 64 * 1024)
        {
            failures.Add($"{Prefix}MaxMessageBytes: must be at least 65536 (got {options.MaxMessageBytes})");
        }

        if (options.AgentMaxObservationsPerSecond < 0)
        {
            failures.Add($"{Prefix}AgentMaxObservationsPerSecond: must be 0 (no limit) or positive (got {options.AgentMaxObservationsPerSecond})");
        }

        var journal = options.Journal;
        if (journal is not null)
        {
            if (journal.Sync is not ("disk" or "kernel"))
            {
                failures.Add($"{Prefix}Journal:Sync: must be \"disk\" (fsync before the ack) or \"kernel\" (got \"{journal.Sync}\")");
            }

            if (journal.SegmentBytes < 1 << 20)
            {
                failures.Add($"{Prefix}Journal:SegmentBytes: must be at least 1048576 (got {journal.SegmentBytes.ToString(CultureInfo.InvariantCulture)})");
            }
        }

        if (options.Store is not { } store)
        {
            failures.Add($"{Prefix}Store: section is empty");
        }
        else if (Storage.StoreBackends.Problem(Storage.StoreBackends.Provider(options)) is { } storeProblem)
        {
            failures.Add($"{Prefix}Store:Provider: {storeProblem}");
        }
        else if (Storage.StoreBackends.Provider(options) == Storage.StoreOptions.Postgres && string.IsNullOrWhiteSpace(store.ConnectionString))
        {
            failures.Add($"{Prefix}Store:ConnectionString: must be set when Store:Provider is \"postgres\"");
        }

        if (options.Retention is { } retention)
        {
            if (retention.Raw < TimeSpan.Zero)
            {
                failures.Add($"{Prefix}Retention:Raw: must be a positive time span such as \"7.00:00:00\", or \"00:00:00\" to keep raw probes forever (got {retention.Raw})");
            }

            if (retention.MaxBytes is < 0 or (> 0 and < 16 << 20))
            {
                failures.Add($"{Prefix}Retention:MaxBytes: must be 0 (no size limit) or at least 16777216 (got {retention.MaxBytes.ToString(CultureInfo.InvariantCulture)})");
            }

            if (retention.Rollups < TimeSpan.Zero || (retention.Rollups > TimeSpan.Zero && retention.Raw > retention.Rollups))
            {
                failures.Add($"{Prefix}Retention:Rollups: must be \"00:00:00\" (forever) or a time span at least as long as Retention:Raw (got {retention.Rollups})");
            }

            if (retention.RawQueryProbes < 0)
            {
                failures.Add($"{Prefix}Retention:RawQueryProbes: must be 0 (windows from rollups whenever they cover them) or more (got {retention.RawQueryProbes.ToString(CultureInfo.InvariantCulture)})");
            }

            if (retention.CheckEvery <= TimeSpan.Zero)
            {
                failures.Add($"{Prefix}Retention:CheckEvery: must be positive (got {retention.CheckEvery})");
            }
        }

        var engine = options.Engine;
        if (engine is null)
        {
            failures.Add($"{Prefix}Engine: section is empty");
        }
        else
        {
            if (engine.MaxInFlight < 1)
            {
                failures.Add($"{Prefix}Engine:MaxInFlight: must be at least 1 (got {engine.MaxInFlight.ToString(CultureInfo.InvariantCulture)})");
            }

            if (engine.ProbeTimeout <= TimeSpan.Zero)
            {
                failures.Add($"{Prefix}Engine:ProbeTimeout: must be positive (got {engine.ProbeTimeout})");
            }

            if (engine.Settle < TimeSpan.Zero)
            {
                failures.Add($"{Prefix}Engine:Settle: must not be negative (got {engine.Settle})");
            }
            else if (engine.ProbeTimeout > TimeSpan.Zero && engine.Settle > engine.ProbeTimeout)
            {
                failures.Add($"{Prefix}Engine:Settle: must not exceed Engine:ProbeTimeout ({engine.Settle} > {engine.ProbeTimeout})");
            }

            if (engine.NoiseFloor < TimeSpan.Zero)
            {
                failures.Add($"{Prefix}Engine:NoiseFloor: must not be negative (got {engine.NoiseFloor})");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
