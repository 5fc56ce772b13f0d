using System.Globalization;
using Google.Protobuf;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Journal;
using HopCapture.Protos;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// The PostgreSQL results store (Correlator:Store:Provider = postgres): the same answers as the
/// SQLite file, on a server several correlators may share. Probes, rollups, agents and alert
/// history are shared; the journal checkpoint and agent batch seqs are per correlator (rows keyed
/// by <see cref="StoreOptions.Instance"/>), since each correlator has its own ingest journal.
/// A server that cannot be reached is retried with back-off (<see cref="PostgresRetry"/>): at
/// start for a while, then the start stops with one line; mid-run the writer waits for it, and
/// what it has not stored stays in the journal.
/// </summary>
public sealed partial class PostgresResultsStore : IResultsStore, IDisposable
{
    internal const string ConnectionStringKey = CorrelatorOptions.SectionName + ":Store:ConnectionString";
    internal const string InstanceKey = CorrelatorOptions.SectionName + ":Store:Instance";

    private readonly RetentionOptions _retention;
    private readonly ILogger _logger;
    private readonly PostgresRetry _retry;

    public PostgresResultsStore(IOptions<CorrelatorOptions> options, TimeProvider? timeProvider = null, ILogger<PostgresResultsStore>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _retention = options.Value.Retention;
        var store = options.Value.Store;
        Instance = string.IsNullOrWhiteSpace(store.Instance) ? Environment.MachineName : store.Instance.Trim();
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(store.ConnectionString) { ApplicationName = "hopcapture-correlator " + Instance };
        }
        catch (ArgumentException ex)
        {
            throw new CorrelatorStartupException(ConnectionStringKey, "not a valid connection string: " + ex.Message, ex);
        }

        Location = $"postgres {builder.Host}:{builder.Port.ToString(CultureInfo.InvariantCulture)}/{builder.Database} (instance {Instance})";
        DataSource = NpgsqlDataSource.Create(builder);
        // The writer's own connection, never pooled: the instance lock it holds ends with it.
        WriterSource = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(builder.ConnectionString) { Pooling = false });
        _retry = new PostgresRetry(Location, timeProvider ?? TimeProvider.System, _logger);
    }

    public string Location { get; }

    /// <summary>This correlator's name in the shared database (its journal checkpoint row).</summary>
    public string Instance { get; }

    internal NpgsqlDataSource DataSource { get; }

    internal NpgsqlDataSource WriterSource { get; }

    internal PostgresRetry Retry => _retry;

    internal ILogger Logger => _logger;

    public void Initialize()
    {
        try
        {
            _retry.AtStart(() =>
            {
                using var connection = DataSource.OpenConnection();
                using var transaction = connection.BeginTransaction();
                Execute(connection, $"SELECT pg_advisory_xact_lock({PostgresSchema.DdlLock})");
                var version = Scalar(connection, "SELECT to_regclass('store_meta') IS NOT NULL") is true
                    ? Convert.ToInt32(Scalar(connection, "SELECT value FROM store_meta WHERE key = 'schema_version'") ?? "0", CultureInfo.InvariantCulture)
                    : 0;
                if (version > PostgresSchema.Version)
                {
                    throw new CorrelatorStartupException(ConnectionStringKey,
                        $"the database has schema version {version}, newer than this correlator understands ({PostgresSchema.Version}); upgrade the correlator");
                }

                Execute(connection, PostgresSchema.Create);
                Execute(connection, PostgresSchema.CreateRollup(PostgresRollups.Table(RollupWidth.Minute)));
                Execute(connection, PostgresSchema.CreateRollup(PostgresRollups.Table(RollupWidth.Hour)));
                using (var meta = new NpgsqlCommand("INSERT INTO store_meta(key, value) VALUES ('schema_version', $1) ON CONFLICT (key) DO NOTHING", connection, transaction))
                {
                    meta.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PostgresSchema.Version.ToString(CultureInfo.InvariantCulture) });
                    meta.ExecuteNonQuery();
                }

                // This correlator's checkpoint row and identity, which its ingest journal carries.
                using (var state = new NpgsqlCommand(
                    "INSERT INTO journal_state(correlator, checkpoint, database_id) VALUES ($1, 0, $2) ON CONFLICT (correlator) DO NOTHING", connection, transaction))
                {
                    state.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Instance });
                    state.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Guid.NewGuid().ToString("N") });
                    state.ExecuteNonQuery();
                }

                transaction.Commit();
                using var probe = WriterSource.OpenConnection();
                if (!PostgresInstanceLock.IsFree(probe, Instance))
                {
                    throw new CorrelatorStartupException(InstanceKey,
                        $"another running correlator uses instance name '{Instance}' in this database; give each correlator its own {InstanceKey}");
                }
            });
        }
        catch (NpgsqlException ex)
        {
            throw new CorrelatorStartupException(ConnectionStringKey, $"cannot use {Location}: {PostgresRetry.Describe(ex)}", ex);
        }
    }

    public IStoreWriteSession OpenWriter() => new PostgresWriteSession(this, _retention);

    public IStoreReadSession OpenRead(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new PostgresReadSession(DataSource.OpenConnection(), cancellationToken);
    }

    public IReadOnlyList<StoredAgent> LoadAgents()
    {
        using var connection = DataSource.OpenConnection();
        using var command = new NpgsqlCommand("SELECT node, instance, last_seen_ns, hello FROM agents ORDER BY node", connection);
        using var reader = command.ExecuteReader();
        var agents = new List<StoredAgent>();
        while (reader.Read())
        {
            Hello hello;
            try
            {
                hello = Hello.Parser.ParseFrom(reader.GetFieldValue<byte[]>(3));
            }
            catch (InvalidProtocolBufferException)
            {
                hello = new Hello { Node = reader.GetString(0), InstanceId = reader.GetString(1) };
            }

            agents.Add(new StoredAgent(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), hello));
        }

        return agents;
    }

    public void UpsertAgent(string node, string instance, long lastSeenNs, Hello hello)
    {
        ArgumentNullException.ThrowIfNull(hello);
        using var connection = DataSource.OpenConnection();
        using var command = new NpgsqlCommand(
            "INSERT INTO agents(node, instance, last_seen_ns, hello) VALUES ($1, $2, $3, $4) " +
            "ON CONFLICT (node) DO UPDATE SET instance = excluded.instance, last_seen_ns = excluded.last_seen_ns, hello = excluded.hello", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = lastSeenNs });
        command.Parameters.Add(new NpgsqlParameter<byte[]> { TypedValue = hello.ToByteArray() });
        command.ExecuteNonQuery();
    }

    public JournalCheckpoint LoadJournalCheckpoint()
    {
        using var connection = DataSource.OpenConnection();
        ulong index = 0;
        var databaseId = "";
        using (var state = new NpgsqlCommand("SELECT checkpoint, database_id FROM journal_state WHERE correlator = $1", connection))
        {
            state.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Instance });
            using var reader = state.ExecuteReader();
            if (reader.Read())
            {
                index = (ulong)reader.GetInt64(0);
                databaseId = reader.GetString(1);
            }
        }

        var seqs = new Dictionary<(string Node, string Instance), ulong>();
        using (var command = new NpgsqlCommand("SELECT node, instance, seq FROM agent_batches WHERE correlator = $1", connection))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = Instance });
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                seqs[(reader.GetString(0), reader.GetString(1))] = (ulong)reader.GetInt64(2);
            }
        }

        return new JournalCheckpoint(index, seqs) { DatabaseId = databaseId };
    }

    public void Dispose()
    {
        DataSource.Dispose();
        WriterSource.Dispose();
    }

    internal static void Execute(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    internal static object? Scalar(NpgsqlConnection connection, string sql)
    {
        using var command = new NpgsqlCommand(sql, connection);
        return command.ExecuteScalar();
    }
}
