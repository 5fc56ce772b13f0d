using System.Globalization;
using Google.Protobuf;
using HopCapture.Correlator.Hosting;
using HopCapture.Correlator.Journal;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>
/// The SQLite results store: one file, WAL so queries never wait for the writer. Probes live in
/// day partitions of their arrival time (<see cref="ProbePartitions"/>) in a compact layout
/// (<see cref="ProbeCodec"/>): the columns are what queries filter and sort on, the rest is a
/// shared shape and a few bytes of numbers. Rollups per path and minute/hour sit beside them.
/// </summary>
public sealed class SqliteResultsStore : IResultsStore
{
    public const int SchemaVersion = 5;

    private readonly string _connectionString;
    private readonly RetentionOptions _retention;
    private readonly ProbeShapes _shapes = new();

    private readonly ILogger _logger;

    public SqliteResultsStore(IOptions<CorrelatorOptions> options, ILogger<SqliteResultsStore>? logger = null)
    {
        _logger = logger ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        ArgumentNullException.ThrowIfNull(options);
        Path = System.IO.Path.GetFullPath(options.Value.Database);
        _retention = options.Value.Retention;
        _connectionString = ConnectionString(Path);
    }

    /// <summary>Full path of the database file.</summary>
    public string Path { get; }

    public string Location => Path;

    public IStoreWriteSession OpenWriter() => new SqliteWriteSession(this, _retention, _logger);

    public IStoreReadSession OpenRead(CancellationToken cancellationToken) => OpenQuery(cancellationToken);

    public SqliteConnection Open() => Open(_connectionString);

    /// <summary>How the correlator opens its SQLite files: created when missing, pooled.</summary>
    internal static string ConnectionString(string path) => new SqliteConnectionStringBuilder
    {
        DataSource = path,
        Mode = SqliteOpenMode.ReadWriteCreate,
        Pooling = true,
        DefaultTimeout = 30,
    }.ToString();

    /// <summary>A connection that waits up to 10 s for the file's writer instead of failing.</summary>
    internal static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var pragma = connection.CreateCommand();
        pragma.CommandText = "PRAGMA busy_timeout = 10000;";
        pragma.ExecuteNonQuery();
        return connection;
    }

    /// <summary>
    /// A connection for one query that stops when <paramref name="cancellationToken"/> fires: the
    /// running statement is interrupted (sqlite3_interrupt) and fails with SQLITE_INTERRUPT, so a
    /// caller who gave up (deadline, Ctrl-C) does not leave the correlator scanning for nobody.
    /// </summary>
    /// <exception cref="OperationCanceledException">The token had fired already.</exception>
    public SqliteReadSession OpenQuery(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return new SqliteReadSession(Open(), _shapes, cancellationToken);
    }

    /// <summary>Opens the file, switches it to WAL and creates or migrates the schema.</summary>
    public void Initialize()
    {
        const string key = CorrelatorOptions.SectionName + ":Database";
        var directory = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(directory) && !Directory.Exists(directory))
        {
            throw new CorrelatorStartupException(key, $"directory '{directory}' does not exist (for '{Path}')");
        }

        try
        {
            using var connection = Open();
            var version = Convert.ToInt32(Scalar(connection, "PRAGMA user_version;"), CultureInfo.InvariantCulture);
            if (version == 0 && Convert.ToInt64(Scalar(connection, "PRAGMA page_count;"), CultureInfo.InvariantCulture) == 0)
            {
                // Only a new file can take it: a dropped partition's pages go back to the filesystem.
                Execute(connection, "PRAGMA auto_vacuum = INCREMENTAL;");
            }

            Execute(connection, "PRAGMA journal_mode = WAL;");
            if (version > SchemaVersion)
            {
                throw new CorrelatorStartupException(key,
                    $"'{Path}' has schema version {version}, newer than this correlator understands ({SchemaVersion}); upgrade the correlator or use another file");
            }

            if (version < 1)
            {
                using var transaction = connection.BeginTransaction();
                Execute(connection, """
                    CREATE TABLE IF NOT EXISTS probes(
                        id INTEGER PRIMARY KEY,
                        src TEXT NOT NULL,
                        dst TEXT NOT NULL,
                        icmp_id INTEGER NOT NULL,
                        icmp_seq INTEGER NOT NULL,
                        first_ts_ns INTEGER NOT NULL,
                        rtt_ns INTEGER NOT NULL,
                        answered INTEGER NOT NULL,
                        verdict_kind TEXT NOT NULL,
                        verdict_cost_ns INTEGER NOT NULL,
                        lost_in TEXT NOT NULL,
                        imported INTEGER NOT NULL,
                        record BLOB NOT NULL);
                    CREATE INDEX IF NOT EXISTS ix_probes_path_time ON probes(src, dst, first_ts_ns);
                    CREATE INDEX IF NOT EXISTS ix_probes_time ON probes(first_ts_ns);
                    CREATE INDEX IF NOT EXISTS ix_probes_rtt ON probes(rtt_ns);
                    CREATE TABLE IF NOT EXISTS agents(
                        node TEXT NOT NULL,
                        instance TEXT NOT NULL,
                        last_seen_ns INTEGER NOT NULL,
                        hello BLOB NOT NULL,
                        PRIMARY KEY(node));
                    PRAGMA user_version = 1;
                    """, transaction);
                transaction.Commit();
            }

            if (version < 2)
            {
                // v2: the verdict segment's leg as a column, so path summaries need no record blobs.
                using var transaction = connection.BeginTransaction();
                Execute(connection, """
                    ALTER TABLE probes ADD COLUMN verdict_leg TEXT NOT NULL DEFAULT '';
                    PRAGMA user_version = 2;
                    """, transaction);
                transaction.Commit();
            }

            if (version < 3)
            {
                // v3: how far the ingest journal is stored, and each agent's last batch seq as of
                // then, so a re-sent batch is dropped across restarts (issue 11).
                using var transaction = connection.BeginTransaction();
                Execute(connection, """
                    CREATE TABLE IF NOT EXISTS journal_state(
                        id INTEGER PRIMARY KEY CHECK (id = 1),
                        checkpoint INTEGER NOT NULL,
                        database_id TEXT NOT NULL);
                    CREATE TABLE IF NOT EXISTS agent_batches(
                        node TEXT NOT NULL,
                        instance TEXT NOT NULL,
                        seq INTEGER NOT NULL,
                        PRIMARY KEY(node, instance));
                    PRAGMA user_version = 3;
                    """, transaction);
                transaction.Commit();
            }

            if (version < 4)
            {
                // v4: probes in day partitions of the correlator's arrival time (issue 12).
                using var transaction = connection.BeginTransaction();
                ProbePartitions.Migrate(connection, transaction);
                Execute(connection, "PRAGMA user_version = 4;", transaction);
                transaction.Commit();
            }

            if (version < 5)
            {
                // v5 (issue 12): rollups per path x verdict x minute and hour, and the compact
                // probe layout; the partitions of whole records are rewritten (ids kept) and
                // counted into the rollups, one partition per transaction.
                using (var transaction = connection.BeginTransaction())
                {
                    SqliteRollups.Create(connection, transaction);
                    ProbeShapes.Create(connection, transaction);
                    transaction.Commit();
                }

                CompactMigration.Run(connection);
                Execute(connection, "PRAGMA user_version = 5;");
            }

            // This file's identity, which its ingest journal carries: a journal left by another
            // database (this one deleted and created anew) is never replayed into it.
            // (An early v3 file has journal_state without the column: it is added, empty, then set.)
            if (Convert.ToInt64(Scalar(connection, "SELECT count(*) FROM pragma_table_info('journal_state') WHERE name = 'database_id'"), CultureInfo.InvariantCulture) == 0)
            {
                Execute(connection, "ALTER TABLE journal_state ADD COLUMN database_id TEXT NOT NULL DEFAULT '';");
            }

            using (var identity = connection.CreateCommand())
            {
                identity.CommandText = "INSERT OR IGNORE INTO journal_state(id, checkpoint, database_id) VALUES (1, 0, $id); " +
                                       "UPDATE journal_state SET database_id = $id WHERE id = 1 AND database_id = '';";
                identity.Parameters.AddWithValue("$id", Guid.NewGuid().ToString("N"));
                identity.ExecuteNonQuery();
            }
        }
        catch (SqliteException ex)
        {
            throw new CorrelatorStartupException(key, $"cannot open '{Path}': {ex.Message}", ex);
        }
    }

    /// <summary>A writer of probes on <paramref name="connection"/>; see <see cref="ProbeAppender"/>.</summary>
    public static ProbeAppender PrepareAppend(SqliteConnection connection) => new(connection);

    /// <summary>Bytes the database's live pages take (freed pages, reused before the file grows, not counted).</summary>
    public static long UsedBytes(SqliteConnection connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var pageSize = Convert.ToInt64(Scalar(connection, "PRAGMA page_size;"), CultureInfo.InvariantCulture);
        var pages = Convert.ToInt64(Scalar(connection, "PRAGMA page_count;"), CultureInfo.InvariantCulture);
        var free = Convert.ToInt64(Scalar(connection, "PRAGMA freelist_count;"), CultureInfo.InvariantCulture);
        return (pages - free) * pageSize;
    }

    public void UpsertAgent(string node, string instance, long lastSeenNs, Hello hello)
    {
        ArgumentNullException.ThrowIfNull(hello);
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "INSERT INTO agents(node, instance, last_seen_ns, hello) VALUES ($node, $instance, $last_seen, $hello) " +
                              "ON CONFLICT(node) DO UPDATE SET instance = excluded.instance, last_seen_ns = excluded.last_seen_ns, hello = excluded.hello";
        command.Parameters.AddWithValue("$node", node);
        command.Parameters.AddWithValue("$instance", instance);
        command.Parameters.AddWithValue("$last_seen", lastSeenNs);
        command.Parameters.AddWithValue("$hello", hello.ToByteArray());
        command.ExecuteNonQuery();
    }

    public IReadOnlyList<StoredAgent> LoadAgents()
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT node, instance, last_seen_ns, hello FROM agents ORDER BY node";
        using var reader = command.ExecuteReader();
        var agents = new List<StoredAgent>();
        while (reader.Read())
        {
            Hello hello;
            try
            {
                hello = Hello.Parser.ParseFrom((byte[])reader[3]);
            }
            catch (InvalidProtocolBufferException)
            {
                hello = new Hello { Node = reader.GetString(0), InstanceId = reader.GetString(1) };
            }

            agents.Add(new StoredAgent(reader.GetString(0), reader.GetString(1), reader.GetInt64(2), hello));
        }

        return agents;
    }

    /// <summary>The journal checkpoint and agent batch seqs as last persisted (index 0 and none on a new file).</summary>
    public JournalCheckpoint LoadJournalCheckpoint()
    {
        using var connection = Open();
        var index = Convert.ToUInt64(Scalar(connection, "SELECT checkpoint FROM journal_state WHERE id = 1") ?? 0L, CultureInfo.InvariantCulture);
        var databaseId = Convert.ToString(Scalar(connection, "SELECT database_id FROM journal_state WHERE id = 1"), CultureInfo.InvariantCulture) ?? "";
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT node, instance, seq FROM agent_batches";
        using var reader = command.ExecuteReader();
        var seqs = new Dictionary<(string Node, string Instance), ulong>();
        while (reader.Read())
        {
            seqs[(reader.GetString(0), reader.GetString(1))] = (ulong)reader.GetInt64(2);
        }

        return new JournalCheckpoint(index, seqs) { DatabaseId = databaseId };
    }

    /// <summary>Persists a checkpoint and the seqs that changed with it, in one transaction on <paramref name="connection"/>.</summary>
    internal static void SaveJournalCheckpoint(SqliteConnection connection, JournalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(checkpoint);
        using var transaction = connection.BeginTransaction();
        using (var state = connection.CreateCommand())
        {
            state.Transaction = transaction;
            state.CommandText = "UPDATE journal_state SET checkpoint = $checkpoint WHERE id = 1";
            state.Parameters.AddWithValue("$checkpoint", (long)checkpoint.Index);
            state.ExecuteNonQuery();
        }

        if (checkpoint.Seqs.Count > 0)
        {
            using var seq = connection.CreateCommand();
            seq.Transaction = transaction;
            seq.CommandText = "INSERT INTO agent_batches(node, instance, seq) VALUES ($node, $instance, $seq) " +
                              "ON CONFLICT(node, instance) DO UPDATE SET seq = max(seq, excluded.seq)";
            var node = seq.Parameters.Add("$node", SqliteType.Text);
            var instance = seq.Parameters.Add("$instance", SqliteType.Text);
            var value = seq.Parameters.Add("$seq", SqliteType.Integer);
            foreach (var ((agentNode, agentInstance), batchSeq) in checkpoint.Seqs)
            {
                node.Value = agentNode;
                instance.Value = agentInstance;
                value.Value = (long)batchSeq;
                seq.ExecuteNonQuery();
            }
        }

        transaction.Commit();
    }

    /// <summary>Parses a whole record as schema v4 stored it and fills in its id (the blob is stored without it).</summary>
    internal static ProbeRecord ReadRecord(long id, byte[] blob)
    {
        var record = ProbeRecord.Parser.ParseFrom(blob);
        record.Id = id;
        return record;
    }

    public static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    internal static object? Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}

