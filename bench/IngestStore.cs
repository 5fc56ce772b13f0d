using System.Globalization;
using HopCapture.Correlator.Storage.Sqlite;
using HopCapture.Tests.Support;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace HopCapture.Bench;

/// <summary>
/// Where the ingest run's correlator stores (--store): the SQLite file it ships with, or a local
/// PostgreSQL 15 started for the run like the tests' (initdb/pg_ctl in a temp dir, PostgreSQL's
/// own durability defaults). The bench reads the stored probes back through it to time
/// "capture → queryable", and reads the server's CPU use for PostgreSQL.
/// </summary>
public abstract class IngestStore : IAsyncDisposable
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary>The correlator's command-line arguments that select this store.</summary>
    public abstract IReadOnlyList<string> CorrelatorArguments { get; }

    public static async Task<IngestStore> CreateAsync(string kind, string workDirectory) => kind switch
    {
        Postgres => await PostgresIngestStore.StartAsync(workDirectory),
        _ => new SqliteIngestStore(workDirectory),
    };

    /// <summary>How many probes are stored and the largest id.</summary>
    public abstract (long Count, long MaxId) Stored();

    /// <summary>The probes stored with an id above <paramref name="afterId"/>, by id: (id, first_ts_ns).</summary>
    public abstract List<(long Id, long FirstTsNs)> After(long afterId);

    /// <summary>CPU seconds the store's own processes have used (0 for an embedded store).</summary>
    public virtual double CpuSeconds() => 0;

    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }
}

/// <summary>The correlator's SQLite file, read with its own connection.</summary>
public sealed class SqliteIngestStore : IngestStore
{
    private readonly string _database;

    public SqliteIngestStore(string workDirectory)
    {
        _database = Path.Combine(workDirectory, "ingest.db");
        // Every run starts from nothing: the database, its WAL and its journal directory.
        foreach (var stale in Directory.GetFiles(workDirectory, "ingest.db*"))
        {
            File.Delete(stale);
        }

        foreach (var stale in Directory.GetDirectories(workDirectory, "ingest.db*"))
        {
            Directory.Delete(stale, recursive: true);
        }
    }

    public override IReadOnlyList<string> CorrelatorArguments => ["--db", _database];

    public override (long Count, long MaxId) Stored()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM " + ProbePartitions.AllRows(connection);
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetInt64(0), reader.GetInt64(1));
    }

    public override List<(long Id, long FirstTsNs)> After(long afterId)
    {
        var rows = new List<(long, long)>();
        if (!File.Exists(_database))
        {
            return rows;
        }

        try
        {
            using var connection = Open();
            using var command = connection.CreateCommand();
            command.CommandText = "SELECT id, first_ts_ns FROM " + ProbePartitions.AllRows(connection) + " WHERE id > $last ORDER BY id";
            command.Parameters.AddWithValue("$last", afterId);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetInt64(1)));
            }
        }
        catch (SqliteException)
        {
            // The table may not exist yet, or the writer holds a lock for a moment: poll again.
        }

        return rows;
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection($"Data Source={_database};Mode=ReadOnly;Pooling=False");
        connection.Open();
        return connection;
    }
}

/// <summary>A local PostgreSQL 15 for the run, one database, removed afterwards.</summary>
public sealed class PostgresIngestStore : IngestStore
{
    private readonly PostgresServer _server;
    private readonly string _connectionString;
    private readonly string _journalBase;

    private PostgresIngestStore(PostgresServer server, string connectionString, string journalBase)
    {
        _server = server;
        _connectionString = connectionString;
        _journalBase = journalBase;
    }

    /// <summary>The store's keys, and --db in the work directory: the ingest journal lives beside it.</summary>
    public override IReadOnlyList<string> CorrelatorArguments =>
        ["--Correlator:Store:Provider=postgres", "--Correlator:Store:ConnectionString=" + _connectionString, "--Correlator:Store:Instance=bench", "--db", _journalBase];

    public static async Task<PostgresIngestStore> StartAsync(string workDirectory)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var journalBase = Path.Combine(workDirectory, "ingest-pg.db");
        if (Directory.Exists(journalBase + ".journal"))
        {
            Directory.Delete(journalBase + ".journal", recursive: true);
        }

        var server = await PostgresServer.StartAsync(durable: true, timeout.Token);
        return new PostgresIngestStore(server, await server.CreateDatabaseAsync("bench", timeout.Token), journalBase);
    }

    public override (long Count, long MaxId) Stored()
    {
        try
        {
            using var connection = Open();
            using var command = new NpgsqlCommand("SELECT count(*), coalesce(max(id), 0) FROM probes", connection);
            using var reader = command.ExecuteReader();
            reader.Read();
            return (reader.GetInt64(0), reader.GetInt64(1));
        }
        catch (PostgresException)
        {
            return (0, 0); // the correlator has not created the schema yet
        }
    }

    public override List<(long Id, long FirstTsNs)> After(long afterId)
    {
        var rows = new List<(long, long)>();
        try
        {
            using var connection = Open();
            using var command = new NpgsqlCommand("SELECT id, first_ts_ns FROM probes WHERE id > $1 ORDER BY id", connection);
            command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = afterId });
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                rows.Add((reader.GetInt64(0), reader.GetInt64(1)));
            }
        }
        catch (PostgresException)
        {
            // The schema may not exist yet: poll again.
        }

        return rows;
    }

    /// <summary>utime + stime of the postmaster and its children (backends, WAL writer, checkpointer) from /proc.</summary>
    public override double CpuSeconds()
    {
        var postmaster = int.Parse(File.ReadLines(Path.Combine(_server.DataDirectory, "postmaster.pid")).First(), CultureInfo.InvariantCulture);
        var ticks = 0L;
        foreach (var stat in Directory.GetDirectories("/proc").Select(static d => Path.Combine(d, "stat")))
        {
            string text;
            try
            {
                text = File.ReadAllText(stat);
            }
            catch (IOException)
            {
                continue; // gone meanwhile
            }
            catch (UnauthorizedAccessException)
            {
                continue;
            }

            // Fields after the ")" that ends the command name: state ppid … utime(14) stime(15).
            var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
            var pid = int.Parse(text[..text.IndexOf(' ', StringComparison.Ordinal)], CultureInfo.InvariantCulture);
            if (pid == postmaster || int.Parse(fields[1], CultureInfo.InvariantCulture) == postmaster)
            {
                ticks += long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
        }

        return ticks / 100.0; // USER_HZ
    }

    public override async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await _server.DisposeAsync();
        await base.DisposeAsync();
    }

    private NpgsqlConnection Open()
    {
        var connection = new NpgsqlConnection(_connectionString + ";Pooling=false");
        connection.Open();
        return connection;
    }
}
