using Npgsql;

namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// One correlator per instance name in a shared database: the writer's connection holds a
/// session advisory lock on the name for as long as it lives (PostgreSQL releases it when the
/// connection ends, also when the correlator is killed), so two correlators configured with the
/// same Correlator:Store:Instance cannot overwrite each other's journal checkpoint.
/// </summary>
internal static class PostgresInstanceLock
{
    private const int Space = 0x4843; // "HC"

    // A connection closed a moment ago (this process's previous writer session, or a correlator
    // just restarted) still holds the lock until its server process has ended, a few milliseconds
    // later: a writer reopened at once found its own name taken in one test run of three.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Retry = TimeSpan.FromMilliseconds(20);

    /// <summary>Takes the lock on <paramref name="connection"/>; false when another session holds it for longer than <see cref="Patience"/>.</summary>
    public static bool TryTake(NpgsqlConnection connection, string instance)
    {
        var deadline = Environment.TickCount64 + (long)Patience.TotalMilliseconds;
        while (!TryTakeOnce(connection, instance))
        {
            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            Thread.Sleep(Retry);
        }

        return true;
    }

    private static bool TryTakeOnce(NpgsqlConnection connection, string instance)
    {
        using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({Space}, hashtext($1))", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
        return command.ExecuteScalar() is true;
    }

    /// <summary>Whether no running correlator holds the name (taken and released at once).</summary>
    public static bool IsFree(NpgsqlConnection connection, string instance)
    {
        if (!TryTake(connection, instance))
        {
            return false;
        }

        using var command = new NpgsqlCommand($"SELECT pg_advisory_unlock({Space}, hashtext($1))", connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = instance });
        command.ExecuteScalar();
        return true;
    }
}
