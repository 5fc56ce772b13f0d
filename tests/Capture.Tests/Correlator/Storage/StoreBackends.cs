using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Storage;
using HopCapture.Correlator.Storage.Sqlite;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Tests.Correlator.Storage;

/// <summary>
/// Makes stores of one backend for the backend contract tests (<see cref="StoreContractTests"/>):
/// each <see cref="Create"/> is a new, initialised, empty store; <see cref="Reopen"/> opens the
/// last one again as a restarted correlator would. A backend that cannot run here throws
/// <see cref="NUnit.Framework.IgnoreException"/> (Assert.Ignore) from <see cref="Create"/> with the reason.
/// </summary>
public abstract class StoreBackendFactory : IDisposable
{
    public abstract string Name { get; }

    public abstract IResultsStore Create(RetentionOptions retention);

    public abstract IResultsStore Reopen();

    public virtual void Dispose() => GC.SuppressFinalize(this);

    public override string ToString() => Name;
}

/// <summary>Every backend the contract runs against; a backend adds its factory here.</summary>
public static class StoreBackendSource
{
    public static IEnumerable<TestFixtureData> All()
    {
        yield return new TestFixtureData(new Func<StoreBackendFactory>(static () => new SqliteBackendFactory())).SetArgDisplayNames("sqlite");
        yield return new TestFixtureData(new Func<StoreBackendFactory>(static () => new PostgresBackendFactory())).SetArgDisplayNames("postgres");
    }
}

/// <summary>A SQLite file in a temporary directory.</summary>
public sealed class SqliteBackendFactory : StoreBackendFactory
{
    private readonly string _directory = Directory.CreateTempSubdirectory("hopcapture-store-").FullName;
    private CorrelatorOptions? _options;
    private int _count;

    public override string Name => "sqlite";

    public string Database => _options?.Database ?? "";

    public override IResultsStore Create(RetentionOptions retention)
    {
        _options = new CorrelatorOptions { Database = Path.Combine(_directory, $"store{++_count}.db"), Retention = retention };
        return Reopen();
    }

    public override IResultsStore Reopen()
    {
        var store = new SqliteResultsStore(Options.Create(_options ?? throw new InvalidOperationException("Create first")));
        store.Initialize();
        return store;
    }

    public override void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
        base.Dispose();
    }
}
