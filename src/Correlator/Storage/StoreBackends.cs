using HopCapture.Correlator.Alerts;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage.Postgres;
using HopCapture.Correlator.Storage.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Storage;

/// <summary>
/// The one place the backend named by Correlator:Store:Provider is chosen: the results store and
/// the alert store come from the same backend. A provider this build lacks stops the start with
/// one line naming the key.
/// </summary>
public static class StoreBackends
{
    private const string ProviderKey = CorrelatorOptions.SectionName + ":Store:Provider";

    /// <summary>The providers this build has (the options validator refuses others with <see cref="Problem"/>).</summary>
    public static IReadOnlySet<string> Available { get; } = new HashSet<string>(StringComparer.Ordinal) { StoreOptions.Sqlite, StoreOptions.Postgres };

    /// <summary>Why <paramref name="provider"/> (trimmed, lower case) cannot be used, or null when it can.</summary>
    public static string? Problem(string provider) =>
        Available.Contains(provider) ? null
        : $"unknown store provider \"{provider}\" (expected \"sqlite\" or \"postgres\")";

    /// <summary>The configured provider, trimmed and in lower case.</summary>
    public static string Provider(CorrelatorOptions options) => (options?.Store?.Provider ?? "").Trim().ToLowerInvariant();

    public static IResultsStore ResultsStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CorrelatorOptions>>();
        return Provider(options) switch
        {
            StoreOptions.Sqlite => new SqliteResultsStore(options, services.GetService<ILogger<SqliteResultsStore>>()),
            StoreOptions.Postgres => new PostgresResultsStore(options, services.GetService<TimeProvider>(), services.GetService<ILogger<PostgresResultsStore>>()),
            var other => throw Unavailable(other),
        };
    }

    public static IAlertStore AlertStore(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<CorrelatorOptions>>();
        return Provider(options) switch
        {
            StoreOptions.Sqlite => new SqliteAlertStore((SqliteResultsStore)services.GetRequiredService<IResultsStore>()),
            StoreOptions.Postgres => new PostgresAlertStore((PostgresResultsStore)services.GetRequiredService<IResultsStore>()),
            var other => throw Unavailable(other),
        };
    }

    private static string Provider(IOptions<CorrelatorOptions> options) => Provider(options.Value);

    private static CorrelatorStartupException Unavailable(string provider) => new(ProviderKey, Problem(provider) ?? provider);
}
