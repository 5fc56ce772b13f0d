using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Postgres;
using HopCapture.Tests.Support;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HopCapture.Tests.Correlator.Storage;

/// <summary>
/// A new database on the run's shared PostgreSQL 15 (<see cref="SharedPostgres"/>) per
/// <see cref="Create"/>; ignored with the reason where PostgreSQL is not installed.
/// </summary>
public sealed class PostgresBackendFactory : StoreBackendFactory
{
    private readonly List<PostgresResultsStore> _stores = [];
    private CorrelatorOptions? _options;

    public override string Name => "postgres";

    public string ConnectionString => _options?.Store.ConnectionString ?? "";

    public override IResultsStore Create(RetentionOptions retention)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var connectionString = SharedPostgres.DatabaseAsync("store", timeout.Token).GetAwaiter().GetResult();
        _options = new CorrelatorOptions
        {
            Retention = retention,
            Store = new StoreOptions { Provider = StoreOptions.Postgres, ConnectionString = connectionString, Instance = "contract" },
        };
        return Reopen();
    }

    public override IResultsStore Reopen()
    {
        var store = new PostgresResultsStore(Options.Create(_options ?? throw new InvalidOperationException("Create first")));
        _stores.Add(store);
        store.Initialize();
        return store;
    }

    public override void Dispose()
    {
        foreach (var store in _stores)
        {
            store.Dispose();
        }

        NpgsqlConnection.ClearAllPools();
        base.Dispose();
    }
}
