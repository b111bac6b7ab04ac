//! The tables, in the schema `armistice` of the database the URL names.
//!
//! - `entries`: one row per entry: `seq`, the stored bytes exactly as the
//!   sled store keeps them (`armistice_core::entry` encoding: the leaf, then
//!   the body), and, copied from them for the indexes, `event_id` (unique),
//!   `stream` + `version` (unique), `occurred_at`, `recorded_at` (µs) and,
//!   for an allegation, its `agreement`.
//! - `nodes`: the hashes of complete Merkle subtrees from level
//!   [`STORED_LEVEL_MIN`](armistice_store::STORED_LEVEL_MIN) up (lower ones
//!   are recomputed from at most 63 leaves).
//! - `head`: one row, the newest entry (seq, hash, recorded_at) and the
//!   tree's frontier; every append locks it (`SELECT … FOR UPDATE`), which
//!   orders appends globally across servers.
//! - `meta`: the store format, the origin and the operator's key history.
//! - `checkpoints`: every checkpoint kept, one per size (its root beside it).
//!
//! Triggers make the database itself refuse what the log never does:
//! deleting or truncating entries, nodes or checkpoints, changing an
//! entry's indexed columns, changing an entry's leaf (a redaction swaps
//! only the body), rewriting a node or checkpoint, moving the head back.

use crate::error::{corrupt, database, is_duplicate};
use armistice_store::{Head, OperatorKeys, StoreError};
use postgres::GenericClient;

/// The version of this layout, kept in `meta` as `format`.
pub const STORE_FORMAT: &str = "1";

/// The schema (namespace) the tables live in.
pub const SCHEMA: &str = "armistice";

/// The channel `pg_notify` announces each new head on (its seq, as text).
pub const HEAD_CHANNEL: &str = "armistice_head";

const CREATE: &str = r#"
CREATE SCHEMA armistice;

CREATE TABLE armistice.meta (
    name text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE armistice.head (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    seq bigint NOT NULL CHECK (seq >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    recorded_at bigint NOT NULL,
    frontier bytea NOT NULL
);

CREATE TABLE armistice.entries (
    seq bigint PRIMARY KEY CHECK (seq >= 1),
    event_id uuid NOT NULL,
    stream text COLLATE "C" NOT NULL,
    version bigint NOT NULL CHECK (version >= 1),
    occurred_at bigint NOT NULL,
    recorded_at bigint NOT NULL,
    agreement text COLLATE "C",
    bytes bytea NOT NULL
);
CREATE UNIQUE INDEX entries_event_id ON armistice.entries (event_id);
CREATE UNIQUE INDEX entries_stream_version ON armistice.entries (stream, version);
CREATE INDEX entries_occurred_at ON armistice.entries (occurred_at, seq);
CREATE INDEX entries_recorded_at ON armistice.entries (recorded_at, seq);
CREATE INDEX entries_agreement ON armistice.entries (agreement, seq) WHERE agreement IS NOT NULL;

CREATE TABLE armistice.nodes (
    level smallint NOT NULL CHECK (level >= 0 AND level < 64),
    idx bigint NOT NULL CHECK (idx >= 0),
    hash bytea NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);

CREATE TABLE armistice.checkpoints (
    size bigint PRIMARY KEY CHECK (size >= 0),
    root bytea NOT NULL CHECK (length(root) = 32),
    note text NOT NULL
);

-- The length of an entry's leaf (docs/FORMAT.md): 115 fixed bytes, the
-- stream and `by` (a length byte each), and the signature when flag bit 1
-- is set.
CREATE FUNCTION armistice.leaf_length(b bytea) RETURNS integer
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    n integer := 115;
BEGIN
    n := n + 1 + get_byte(b, n);
    n := n + 1 + get_byte(b, n);
    IF get_byte(b, 1) & 2 = 2 THEN
        n := n + 64;
    END IF;
    RETURN n;
END $$;

CREATE FUNCTION armistice.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'armistice: % on %.% is refused: the log is append-only',
        TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
END $$;

CREATE FUNCTION armistice.keep_leaf() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    n integer := armistice.leaf_length(OLD.bytes);
BEGIN
    IF length(NEW.bytes) < n
        OR substring(NEW.bytes FROM 1 FOR n) <> substring(OLD.bytes FROM 1 FOR n) THEN
        RAISE EXCEPTION 'armistice: entry % keeps its leaf: a redaction swaps only its body',
            OLD.seq;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER entries_append_only
    BEFORE DELETE OR UPDATE OF seq, event_id, stream, version, occurred_at, recorded_at, agreement
    ON armistice.entries FOR EACH ROW EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER entries_keep_leaf BEFORE UPDATE OF bytes
    ON armistice.entries FOR EACH ROW EXECUTE FUNCTION armistice.keep_leaf();
CREATE TRIGGER entries_no_truncate BEFORE TRUNCATE
    ON armistice.entries FOR EACH STATEMENT EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER nodes_append_only BEFORE DELETE OR UPDATE
    ON armistice.nodes FOR EACH ROW EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER nodes_no_truncate BEFORE TRUNCATE
    ON armistice.nodes FOR EACH STATEMENT EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER checkpoints_append_only BEFORE DELETE OR UPDATE
    ON armistice.checkpoints FOR EACH ROW EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE
    ON armistice.checkpoints FOR EACH STATEMENT EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER head_forward BEFORE UPDATE
    ON armistice.head FOR EACH ROW WHEN (NEW.seq < OLD.seq)
    EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER head_kept BEFORE DELETE
    ON armistice.head FOR EACH ROW EXECUTE FUNCTION armistice.refuse_change();
CREATE TRIGGER head_no_truncate BEFORE TRUNCATE
    ON armistice.head FOR EACH STATEMENT EXECUTE FUNCTION armistice.refuse_change();
"#;

/// The unique indexes the log relies on, as `verify` expects them.
pub const UNIQUE_INDEXES: [(&str, &str); 5] = [
    ("entries_pkey", "seq"),
    ("entries_event_id", "event_id"),
    ("entries_stream_version", "stream, version"),
    ("nodes_pkey", "level, idx"),
    ("checkpoints_pkey", "size"),
];

/// Creates the tables of an empty log in one transaction. `Ok(false)` when
/// the schema exists already.
pub fn create(
    client: &mut postgres::Client,
    operator_public_key: &[u8; 32],
    origin: &str,
) -> Result<bool, StoreError> {
    let mut txn = client.transaction().map_err(|e| database(&e))?;
    if let Err(e) = txn.batch_execute(CREATE) {
        return match is_duplicate(&e) {
            true => Ok(false),
            false => Err(database(&e)),
        };
    }
    let meta = [
        ("format", STORE_FORMAT.as_bytes().to_vec()),
        ("origin", origin.as_bytes().to_vec()),
        (
            "operator_keys",
            OperatorKeys::new(*operator_public_key).encode(),
        ),
    ];
    for (name, value) in &meta {
        txn.execute(
            "INSERT INTO armistice.meta (name, value) VALUES ($1, $2)",
            &[name, value],
        )
        .map_err(|e| database(&e))?;
    }
    let empty = Head::EMPTY;
    txn.execute(
        "INSERT INTO armistice.head (seq, hash, recorded_at, frontier) VALUES (0, $1, $2, '')",
        &[&empty.hash.as_slice(), &empty.recorded_at.micros()],
    )
    .map_err(|e| database(&e))?;
    match txn.commit() {
        Ok(()) => Ok(true),
        Err(e) if is_duplicate(&e) => Ok(false),
        Err(e) => Err(database(&e)),
    }
}

/// Whether the schema holds a log.
pub fn exists(client: &mut impl GenericClient) -> Result<bool, StoreError> {
    let row = client
        .query_one("SELECT to_regclass('armistice.head') IS NOT NULL", &[])
        .map_err(|e| database(&e))?;
    Ok(row.get(0))
}

/// A `meta` value.
pub fn meta(client: &mut impl GenericClient, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
    let row = client
        .query_opt("SELECT value FROM armistice.meta WHERE name = $1", &[&name])
        .map_err(|e| database(&e))?;
    Ok(row.map(|row| row.get(0)))
}

/// The operator's key history.
pub fn operator_keys(client: &mut impl GenericClient) -> Result<OperatorKeys, StoreError> {
    let bytes = meta(client, "operator_keys")?
        .ok_or_else(|| corrupt(0, "the operator's public key is missing"))?;
    OperatorKeys::decode(&bytes).ok_or_else(|| corrupt(0, "the operator's key history is damaged"))
}
