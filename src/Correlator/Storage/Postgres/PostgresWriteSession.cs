using Google.Protobuf;
using HopCapture.Contracts.Mapping;
using HopCapture.Correlator.Journal;
using HopCapture.Protos;
using Npgsql;
using NpgsqlTypes;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// The store writer's PostgreSQL connection. A batch is one transaction: ids from the shared
/// sequence, the rows by binary COPY into the partitioned table (PostgreSQL routes each to its
/// day), then the rollup rows it changed. A day's partition is created first, in its own short
/// transaction, so the DDL lock on the parent table is not held while rows stream. When the
/// server goes away the batch is retried, with every record checked against what is stored (a
/// commit whose answer was lost may have landed): exactly once, nothing the journal acked lost.
/// Batches commit asynchronously (synchronous_commit off), the journal checkpoint synchronously.
/// </summary>
internal sealed class PostgresWriteSession : IStoreWriteSession
{
    private readonly PostgresResultsStore _store;
    private readonly RetentionOptions _options;
    private readonly HashSet<long> _days = [];
    private NpgsqlConnection? _connection;
    private NpgsqlTransaction? _transaction;
    private RollupBook? _rollups;
    private byte[] _buffer = new byte[4096];

    public PostgresWriteSession(PostgresResultsStore store, RetentionOptions options)
    {
        // Connected on first use, inside the retry: a server away when the session opens is waited for too.
        _store = store;
        _options = options;
    }

    public int Write(IReadOnlyList<ProbeRecord> records, long replayedThroughNs)
    {
        ArgumentNullException.ThrowIfNull(records);
        var attempt = 0;
        return _store.Retry.WhileRunning(() =>
        {
            if (attempt++ > 0)
            {
                // The previous attempt's commit may have landed before the connection broke.
                Reconnect();
                replayedThroughNs = long.MaxValue;
            }

            return WriteOnce(records, replayedThroughNs);
        });
    }

    public void SaveCheckpoint(JournalCheckpoint checkpoint)
    {
        ArgumentNullException.ThrowIfNull(checkpoint);
        var attempt = 0;
        _store.Retry.WhileRunning(() =>
        {
            var connection = attempt++ > 0 || _connection is null ? Reconnect() : _connection;
            using var transaction = connection.BeginTransaction();
            using var batch = new NpgsqlBatch(connection, transaction);
            // Flushed before it returns, with every batch committed before it: the journal is
            // released only behind what is on the server's disk.
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SET LOCAL synchronous_commit = on"));
            var state = new NpgsqlBatchCommand("UPDATE journal_state SET checkpoint = $1 WHERE correlator = $2");
            state.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)checkpoint.Index });
            state.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _store.Instance });
            batch.BatchCommands.Add(state);
            foreach (var ((node, instance), seq) in checkpoint.Seqs)
            {
                var row = new NpgsqlBatchCommand(
                    "INSERT INTO agent_batches(correlator, node, instance, seq) VALUES ($1, $2, $3, $4) " +
                    "ON CONFLICT (correlator, node, instance) DO UPDATE SET seq = greatest(agent_batches.seq, excluded.seq)");
                row.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _store.Instance });
                row.Parameters.Add(new NpgsqlParameter<string> { TypedValue = node });
                row.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
                row.Parameters.Add(new NpgsqlParameter<long> { TypedValue = (long)seq });
                batch.BatchCommands.Add(row);
            }

            batch.ExecuteNonQuery();
            transaction.Commit();
            return 0;
        });
    }

    public RetentionPass ApplyRetention(long nowNs) =>
        _store.Retry.WhileRunning(() =>
        {
            var pass = new PostgresRetention(_options, _store.Logger).Apply(_connection ?? Reconnect(), nowNs);
            _days.Clear(); // some may have been dropped, by this correlator or another
            return pass;
        });

    public void Dispose() => _connection?.Dispose();

    private int WriteOnce(IReadOnlyList<ProbeRecord> records, long replayedThroughNs)
    {
        var connection = _connection ?? Reconnect();
        var keep = new List<ProbeRecord>(records.Count);
        var duplicates = 0;
        foreach (var record in records)
        {
            record.Id = 0;
            EnsurePartition(connection, ArrivalOf(record));
        }

        using var transaction = connection.BeginTransaction();
        _transaction = transaction;
        try
        {
            using (var exists = new NpgsqlCommand(
                "SELECT EXISTS (SELECT 1 FROM probes WHERE src = $1 AND dst = $2 AND first_ts_ns = $3 AND icmp_id = $4 AND icmp_seq = $5)", connection, transaction))
            {
                foreach (var record in records)
                {
                    // Capture identity, not arrival: a replayed probe arrives again, later.
                    if (record.FirstTsNs <= replayedThroughNs && Exists(exists, record))
                    {
                        duplicates++;
                        continue;
                    }

                    keep.Add(record);
                }
            }

            if (keep.Count > 0)
            {
                AssignIds(connection, transaction, keep);
                Copy(connection, keep);
                foreach (var record in keep)
                {
                    _rollups!.Add(record);
                }

                PostgresRollups.Save(connection, transaction, _rollups!.TakeDirty());
            }

            transaction.Commit();
            return duplicates;
        }
        catch
        {
            foreach (var record in keep)
            {
                record.Id = 0;
            }

            // The book holds counts of rows that were never committed: a new one reloads from the store.
            _rollups = NewBook();
            throw;
        }
        finally
        {
            _transaction = null;
        }
    }

    private static long ArrivalOf(ProbeRecord record) => record.ArrivalNs != 0 ? record.ArrivalNs : record.FirstTsNs;

    private static bool Exists(NpgsqlCommand exists, ProbeRecord record)
    {
        exists.Parameters.Clear();
        exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Src });
        exists.Parameters.Add(new NpgsqlParameter<string> { TypedValue = record.Dst });
        exists.Parameters.Add(new NpgsqlParameter<long> { TypedValue = record.FirstTsNs });
        exists.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)(record.Key?.IcmpId ?? 0) });
        exists.Parameters.Add(new NpgsqlParameter<int> { TypedValue = (int)(record.Key?.IcmpSeq ?? 0) });
        return exists.ExecuteScalar() is true;
    }

    /// <summary>Ids from the sequence every correlator sharing the database draws from: unique across them, never reused.</summary>
    private static void AssignIds(NpgsqlConnection connection, NpgsqlTransaction transaction, List<ProbeRecord> records)
    {
        using var command = new NpgsqlCommand("SELECT nextval('probe_ids') FROM generate_series(1, $1)", connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = records.Count });
        using var reader = command.ExecuteReader();
        var i = 0;
        while (reader.Read())
        {
            records[i++].Id = reader.GetInt64(0);
        }
    }

    /// <summary>The rows by binary COPY (in the connection's transaction), the record stored without its id.</summary>
    private void Copy(NpgsqlConnection connection, List<ProbeRecord> records)
    {
        using var importer = connection.BeginBinaryImport($"COPY probes ({PostgresSchema.ProbeColumns}) FROM STDIN (FORMAT BINARY)");
        foreach (var record in records)
        {
            var id = record.Id;
            record.Id = 0;
            var size = record.CalculateSize();
            if (size > _buffer.Length)
            {
                _buffer = new byte[Math.Max(size, _buffer.Length * 2)];
            }

            record.WriteTo(_buffer.AsSpan(0, size));
            record.Id = id;

            importer.StartRow();
            importer.Write(id, NpgsqlDbType.Bigint);
            importer.Write(record.Src, NpgsqlDbType.Text);
            importer.Write(record.Dst, NpgsqlDbType.Text);
            importer.Write((int)(record.Key?.IcmpId ?? 0), NpgsqlDbType.Integer);
            importer.Write((int)(record.Key?.IcmpSeq ?? 0), NpgsqlDbType.Integer);
            importer.Write(record.FirstTsNs, NpgsqlDbType.Bigint);
            importer.Write(ArrivalOf(record), NpgsqlDbType.Bigint);
            importer.Write(record.RttNs, NpgsqlDbType.Bigint);
            importer.Write(record.Answered, NpgsqlDbType.Boolean);
            importer.Write(record.Verdict?.Kind ?? "", NpgsqlDbType.Text);
            importer.Write(record.Verdict?.CostNs ?? 0, NpgsqlDbType.Bigint);
            importer.Write(record.VerdictLeg(), NpgsqlDbType.Text);
            importer.Write(record.LostIn, NpgsqlDbType.Text);
            importer.Write(record.Imported, NpgsqlDbType.Boolean);
            importer.Write(new ArraySegment<byte>(_buffer, 0, size), NpgsqlDbType.Bytea);
        }

        importer.Complete();
    }

    /// <summary>The day partition of <paramref name="arrivalNs"/>, created (with its catalog row) unless this session knows it.</summary>
    private void EnsurePartition(NpgsqlConnection connection, long arrivalNs)
    {
        var day = PostgresPartitions.DayStart(arrivalNs);
        if (_days.Contains(day))
        {
            return;
        }

        PostgresPartitions.Create(connection, day);
        _days.Add(day);
    }

    private NpgsqlConnection Reconnect()
    {
        _connection?.Dispose();
        _connection = null;
        _days.Clear();
        Connect();
        return _connection!;
    }

    private void Connect()
    {
        var connection = _store.WriterSource.OpenConnection();
        if (!PostgresInstanceLock.TryTake(connection, _store.Instance))
        {
            connection.Dispose();
            throw new InvalidOperationException(
                $"another correlator writes as instance '{_store.Instance}' in this database; give each its own {PostgresResultsStore.InstanceKey}");
        }

        // Batches commit without waiting for the server's WAL flush (a flush per batch would bound
        // ingest by the disk's fsync rate); the checkpoint's commit waits, and PostgreSQL's WAL is
        // flushed in order, so what the checkpoint covers is durable before the journal lets it go.
        PostgresResultsStore.Execute(connection, "SET synchronous_commit = off");
        _connection = connection;
        _rollups = NewBook();
    }

    private RollupBook NewBook() => new(
        (width, key) => PostgresRollups.Load(_connection!, _transaction, width, key),
        width => PostgresRollups.Newest(_connection!, _transaction, width));
}
