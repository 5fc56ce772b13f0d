namespace HopCapture.Correlator.Storage;

/// <summary>
/// Configuration section "Correlator:Store": which backend holds the results. "sqlite" (the
/// default) is the file named by Correlator:Database, zero setup; "postgres" is a PostgreSQL
/// server at <see cref="ConnectionString"/>, for sites that run one or share one history.
/// </summary>
public sealed class StoreOptions
{
    public const string Sqlite = "sqlite";
    public const string Postgres = "postgres";

    /// <summary>"sqlite" or "postgres".</summary>
    public string Provider { get; set; } = Sqlite;

    /// <summary>The PostgreSQL connection string (Npgsql form, "Host=...;Database=...;Username=..."); unused for sqlite.</summary>
    public string ConnectionString { get; set; } = "";

    /// <summary>
    /// This correlator's name in a PostgreSQL database several correlators share: its journal
    /// checkpoint is kept under it, and two running correlators may not use the same one. Empty =
    /// the host name. Unused for sqlite.
    /// </summary>
    public string Instance { get; set; } = "";
}
