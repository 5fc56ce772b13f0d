using System.Collections.Concurrent;
using Google.Protobuf;
using HopCapture.Contracts.Mapping;
using HopCapture.Protos;
using Microsoft.Data.Sqlite;

namespace HopCapture.Correlator.Storage.Sqlite;

/// <summary>A stored probe shape (see <see cref="ProbeCodec"/>) with the fields queries read off it.</summary>
internal sealed record ProbeShape(ProbeRecord Record)
{
    public string Src => Record.Src;

    public string Dst => Record.Dst;

    public string VerdictKind => Record.Verdict?.Kind ?? "";

    public string VerdictLeg { get; } = Record.VerdictLeg();
}

/// <summary>
/// The probe_shapes table, read through a cache: a shape never changes once written (a new one
/// gets a new id), so every reader of the file shares one cache and looks a shape up in the
/// database only the first time it meets its id.
/// </summary>
internal sealed class ProbeShapes
{
    private readonly ConcurrentDictionary<long, ProbeShape> _byId = new();

    public static void Create(SqliteConnection connection, SqliteTransaction transaction) =>
        SqliteResultsStore.Execute(connection, """
            CREATE TABLE IF NOT EXISTS probe_shapes(
                id INTEGER PRIMARY KEY,
                src TEXT NOT NULL,
                dst TEXT NOT NULL,
                shape BLOB NOT NULL UNIQUE);
            CREATE INDEX IF NOT EXISTS ix_probe_shapes_path ON probe_shapes(src, dst);
            """, transaction);

    /// <summary>The shape with <paramref name="id"/>, read in <paramref name="transaction"/> when not cached.</summary>
    /// <exception cref="InvalidDataException">No such shape: the file is damaged.</exception>
    public ProbeShape Get(SqliteConnection connection, SqliteTransaction? transaction, long id)
    {
        if (_byId.TryGetValue(id, out var shape))
        {
            return shape;
        }

        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT shape FROM probe_shapes WHERE id = $id";
        command.Parameters.AddWithValue("$id", id);
        var blob = command.ExecuteScalar() as byte[] ?? throw new InvalidDataException($"probe shape {id} is missing from the database");
        return _byId.GetOrAdd(id, new ProbeShape(ProbeRecord.Parser.ParseFrom(blob)));
    }

    /// <summary>Every shape id by its bytes, for the writer.</summary>
    public static Dictionary<ByteString, long> LoadIds(SqliteConnection connection, SqliteTransaction? transaction)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "SELECT id, shape FROM probe_shapes";
        using var reader = command.ExecuteReader();
        var ids = new Dictionary<ByteString, long>();
        while (reader.Read())
        {
            ids[ByteString.CopyFrom((byte[])reader[1])] = reader.GetInt64(0);
        }

        return ids;
    }

    /// <summary>Stores a new shape in the caller's transaction; returns its id.</summary>
    public static long Insert(SqliteConnection connection, SqliteTransaction? transaction, ProbeRecord record, ByteString shape)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = "INSERT INTO probe_shapes(src, dst, shape) VALUES ($src, $dst, $shape) RETURNING id";
        command.Parameters.AddWithValue("$src", record.Src);
        command.Parameters.AddWithValue("$dst", record.Dst);
        command.Parameters.AddWithValue("$shape", shape.ToByteArray());
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
