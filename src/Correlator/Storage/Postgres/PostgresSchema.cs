namespace HopCapture.Correlator.Storage.Postgres;

/// <summary>
/// The PostgreSQL schema, created by the first correlator that starts on an empty database and
/// checked by every later one (several correlators may share a database). Probes are one table
/// partitioned by range of arrival_ns, one partition per UTC day (probes_20260131, listed with its
/// bounds in probe_partitions), so retention drops a day whole and a window's query is pruned to
/// the days it touches. Text keys sort by code point (COLLATE "C"), as SQLite's do, so both
/// backends order paths alike whatever the database's locale.
/// </summary>
internal static class PostgresSchema
{
    public const int Version = 1;

    /// <summary>Serialises schema creation and partition changes between correlators sharing the database.</summary>
    public const long DdlLock = 0x4843_5344_444c; // "HCSDDL"

    /// <summary>Taken by the correlator running retention, so two never drop the same day at once.</summary>
    public const long RetentionLock = 0x4843_5245_544e; // "HCRETN"

    /// <summary>The probe columns in the order the writer's COPY sends them.</summary>
    public const string ProbeColumns =
        "id, src, dst, icmp_id, icmp_seq, first_ts_ns, arrival_ns, rtt_ns, answered, verdict_kind, verdict_cost_ns, verdict_leg, lost_in, imported, record";

    public const string Create = """
        CREATE TABLE IF NOT EXISTS store_meta(
            key text PRIMARY KEY,
            value text NOT NULL);
        CREATE SEQUENCE IF NOT EXISTS probe_ids;
        CREATE TABLE IF NOT EXISTS probes(
            id bigint NOT NULL,
            src text COLLATE "C" NOT NULL,
            dst text COLLATE "C" NOT NULL,
            icmp_id integer NOT NULL,
            icmp_seq integer NOT NULL,
            first_ts_ns bigint NOT NULL,
            arrival_ns bigint NOT NULL,
            rtt_ns bigint NOT NULL,
            answered boolean NOT NULL,
            verdict_kind text COLLATE "C" NOT NULL,
            verdict_cost_ns bigint NOT NULL,
            verdict_leg text COLLATE "C" NOT NULL,
            lost_in text COLLATE "C" NOT NULL,
            imported boolean NOT NULL,
            record bytea NOT NULL) PARTITION BY RANGE (arrival_ns);
        CREATE INDEX IF NOT EXISTS ix_probes_path_time ON probes(src, dst, first_ts_ns);
        CREATE INDEX IF NOT EXISTS ix_probes_arrival ON probes(arrival_ns);
        CREATE INDEX IF NOT EXISTS ix_probes_rtt ON probes(rtt_ns);
        CREATE INDEX IF NOT EXISTS ix_probes_id ON probes(id);
        CREATE TABLE IF NOT EXISTS probe_partitions(
            name text PRIMARY KEY,
            start_ns bigint NOT NULL,
            end_ns bigint NOT NULL);
        CREATE TABLE IF NOT EXISTS agents(
            node text COLLATE "C" PRIMARY KEY,
            instance text NOT NULL,
            last_seen_ns bigint NOT NULL,
            hello bytea NOT NULL);
        CREATE TABLE IF NOT EXISTS journal_state(
            correlator text PRIMARY KEY,
            checkpoint bigint NOT NULL,
            database_id text NOT NULL);
        CREATE TABLE IF NOT EXISTS agent_batches(
            correlator text NOT NULL,
            node text NOT NULL,
            instance text NOT NULL,
            seq bigint NOT NULL,
            PRIMARY KEY(correlator, node, instance));
        """;

    /// <summary>The rollup table of <paramref name="table"/>'s width, keyed like SQLite's.</summary>
    public static string CreateRollup(string table) => $"""
        CREATE TABLE IF NOT EXISTS {table}(
            src text COLLATE "C" NOT NULL, dst text COLLATE "C" NOT NULL, bucket_ns bigint NOT NULL,
            kind text COLLATE "C" NOT NULL, leg text COLLATE "C" NOT NULL, lost_in text COLLATE "C" NOT NULL,
            lost_leg text COLLATE "C" NOT NULL, lost_after text COLLATE "C" NOT NULL,
            probes bigint NOT NULL, lost bigint NOT NULL, slow bigint NOT NULL, cost_ns bigint NOT NULL, slow_cost_ns bigint NOT NULL,
            first_ts_ns bigint NOT NULL, last_ts_ns bigint NOT NULL, worst_id bigint NOT NULL, worst_rtt_ns bigint NOT NULL,
            histogram bytea NOT NULL,
            PRIMARY KEY(src, dst, bucket_ns, kind, leg, lost_in, lost_leg, lost_after));
        CREATE INDEX IF NOT EXISTS ix_{table}_bucket ON {table}(bucket_ns);
        """;

    public const string CreateAlerts = """
        CREATE TABLE IF NOT EXISTS alerts(
            id bigserial PRIMARY KEY,
            correlator text NOT NULL,
            rule text NOT NULL,
            src text NOT NULL,
            dst text NOT NULL,
            state text NOT NULL,
            labels text NOT NULL,
            summary text NOT NULL,
            value double precision NOT NULL,
            unit text NOT NULL,
            worst_probes text NOT NULL,
            started_ns bigint NOT NULL,
            firing_ns bigint NOT NULL,
            resolved_ns bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS ix_alerts_state ON alerts(state, resolved_ns);
        CREATE TABLE IF NOT EXISTS alert_outbox(
            id bigserial PRIMARY KEY,
            alert_id bigint NOT NULL,
            webhook text NOT NULL,
            idempotency_key text NOT NULL UNIQUE,
            body text NOT NULL,
            created_ns bigint NOT NULL,
            attempts integer NOT NULL DEFAULT 0,
            next_ns bigint NOT NULL,
            delivered_ns bigint,
            dead_ns bigint,
            resend integer NOT NULL DEFAULT 0,
            last_error text NOT NULL DEFAULT '');
        CREATE INDEX IF NOT EXISTS ix_outbox_due ON alert_outbox(delivered_ns, next_ns);
        CREATE INDEX IF NOT EXISTS ix_outbox_alert ON alert_outbox(alert_id, webhook);
        """;
}
