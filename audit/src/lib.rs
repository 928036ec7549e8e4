//! Tamper evidence for the event log.
//!
//! Each event's `hash` chains it to its predecessor in its stream (see migrations/0006): the
//! verifier recomputes every chain here, in Rust, from the stored fields, so a database whose
//! hashing function was replaced cannot vouch for itself. A chain alone cannot reveal a stream
//! rewritten with recomputed hashes, nor the loss of a stream's latest events: **seals** can. A
//! seal signs (Ed25519, with a key kept outside the database) the digest of every stream's head
//! as of a log position; verifying a seal with the trusted public key recomputes that digest.
//!
//! Not detectable: changes to events appended after the newest seal that keep the chains
//! consistent (seal often), and anything done by whoever holds the signing key.

pub mod log;
pub mod timeline;
pub mod transfer;

use futures_util::TryStreamExt;
use ring::signature::{self, Ed25519KeyPair, KeyPair, UnparsedPublicKey};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// A stream's first event chains to this.
const GENESIS: [u8; 32] = [0; 32];

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Key(String),
}

/// The first place where the log is not what it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BrokenLink {
    pub global_position: i64,
    pub aggregate_type: String,
    pub aggregate_id: String,
    pub sequence: i64,
    pub reason: String,
}

/// What one seal says about the log now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SealCheck {
    pub id: i64,
    pub sealed_at: chrono::DateTime<chrono::Utc>,
    pub up_to_position: i64,
    /// `intact`; `altered` (the streams' heads as of the seal differ: history before it was
    /// rewritten or deleted); `bad_signature`; `other_key` (signed by a key not trusted here).
    pub status: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// True when every chain holds and every seal checked is intact.
    pub ok: bool,
    pub events_checked: u64,
    pub streams: u64,
    /// The first broken link, in stream order.
    pub first_broken: Option<BrokenLink>,
    /// Seals checked against the trusted key (none when no key was given).
    pub seals: Vec<SealCheck>,
}

#[derive(sqlx::FromRow)]
struct StoredEvent {
    aggregate_type: String,
    aggregate_id: String,
    sequence: i64,
    event_type: String,
    event_version: String,
    payload: String,
    metadata: String,
    global_position: i64,
    hash: Vec<u8>,
}

/// The hash an event must carry: SHA-256 of the predecessor's hash, then the fields joined by
/// U+001F — byte for byte what `klg_event_hash` computes when the event is appended.
fn event_hash(prev: &[u8], e: &StoredEvent) -> [u8; 32] {
    let fields = [
        e.aggregate_type.as_str(),
        &e.aggregate_id,
        &e.sequence.to_string(),
        &e.event_type,
        &e.event_version,
        &e.payload,
        &e.metadata,
        &e.global_position.to_string(),
    ]
    .join("\u{1f}");
    Sha256::new().chain_update(prev).chain_update(fields.as_bytes()).finalize().into()
}

/// Recomputes every chain, then checks each seal signed by `trusted` (a raw 32-byte Ed25519
/// public key) if given. `progress` is told the number of events checked so far.
pub async fn verify(
    pool: &PgPool,
    trusted: Option<&[u8]>,
    mut progress: impl FnMut(u64),
) -> Result<VerifyReport, AuditError> {
    let mut rows = sqlx::query_as::<_, StoredEvent>(
        "SELECT aggregate_type, aggregate_id, sequence, event_type, event_version, payload::text AS payload, \
         metadata::text AS metadata, global_position, hash FROM events \
         ORDER BY aggregate_type, aggregate_id, sequence",
    )
    .fetch(pool);
    let (mut checked, mut streams, mut first_broken) = (0u64, 0u64, None);
    let mut current: Option<(String, String, i64, [u8; 32])> = None;
    while let Some(e) = rows.try_next().await? {
        let same_stream =
            current.as_ref().is_some_and(|(t, i, _, _)| *t == e.aggregate_type && *i == e.aggregate_id);
        let (expected_sequence, prev) = match &current {
            Some((_, _, sequence, hash)) if same_stream => (sequence + 1, *hash),
            _ => {
                streams += 1;
                (1, GENESIS)
            }
        };
        let computed = event_hash(&prev, &e);
        checked += 1;
        if checked % 10_000 == 0 {
            progress(checked);
        }
        if first_broken.is_none() {
            let reason = if e.sequence != expected_sequence {
                Some(format!(
                    "sequence {} follows {} in its stream: events are missing or inserted",
                    e.sequence,
                    expected_sequence - 1
                ))
            } else if e.hash != computed {
                Some("the stored hash does not match the event's content, position or predecessor".to_owned())
            } else {
                None
            };
            first_broken = reason.map(|reason| BrokenLink {
                global_position: e.global_position,
                aggregate_type: e.aggregate_type.clone(),
                aggregate_id: e.aggregate_id.clone(),
                sequence: e.sequence,
                reason,
            });
        }
        // Chain on from what is stored, so one edit is reported once, where it is.
        let stored: [u8; 32] = e.hash.as_slice().try_into().unwrap_or(GENESIS);
        current = Some((e.aggregate_type, e.aggregate_id, e.sequence, stored));
    }
    progress(checked);
    let seals = match trusted {
        Some(key) => check_seals(pool, key).await?,
        None => vec![],
    };
    let ok = first_broken.is_none() && seals.iter().all(|s| s.status == "intact");
    Ok(VerifyReport { ok, events_checked: checked, streams, first_broken, seals })
}

/// SHA-256 over every stream's head (type, id, last sequence, its hash) as of `position`, in
/// stream order; and the number of streams.
async fn heads_digest(pool: &PgPool, position: i64) -> Result<([u8; 32], i64), AuditError> {
    let heads: Vec<(String, String, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT DISTINCT ON (aggregate_type, aggregate_id) aggregate_type, aggregate_id, sequence, hash \
         FROM events WHERE global_position <= $1 ORDER BY aggregate_type, aggregate_id, sequence DESC",
    )
    .bind(position)
    .fetch_all(pool)
    .await?;
    let mut digest = Sha256::new();
    for (aggregate_type, aggregate_id, sequence, hash) in &heads {
        digest.update(format!(
            "{aggregate_type}\u{1f}{aggregate_id}\u{1f}{sequence}\u{1f}{}\n",
            hex::encode(hash)
        ));
    }
    Ok((digest.finalize().into(), heads.len() as i64))
}

/// What a seal signs.
fn seal_message(up_to_position: i64, streams: i64, heads: &[u8]) -> Vec<u8> {
    format!("klg-seal-v1\n{up_to_position}\n{streams}\n{}\n", hex::encode(heads)).into_bytes()
}

/// A new Ed25519 signing key as PKCS#8 (keep it outside the database), and its public key.
pub fn generate_key() -> Result<(Vec<u8>, Vec<u8>), AuditError> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng)
        .map_err(|_| AuditError::Key("generating a key failed".into()))?;
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).map_err(|_| AuditError::Key("bad key".into()))?;
    Ok((pkcs8.as_ref().to_vec(), pair.public_key().as_ref().to_vec()))
}

/// A seal just written.
#[derive(Debug, Clone, Serialize)]
pub struct Seal {
    pub id: i64,
    pub up_to_position: i64,
    pub streams: i64,
    pub heads_sha256: String,
    pub public_key: String,
}

/// Seals the log as it stands: the heads of every stream up to the newest readable position,
/// signed with the PKCS#8 Ed25519 key `pkcs8`.
pub async fn seal(pool: &PgPool, pkcs8: &[u8]) -> Result<Seal, AuditError> {
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8)
        .map_err(|_| AuditError::Key("the key is not a PKCS#8 Ed25519 key".into()))?;
    // Only what every reader can see: positions of transactions still running stay out.
    let position: i64 = sqlx::query_scalar(
        "SELECT coalesce(max(global_position), 0) FROM events \
         WHERE transaction_id < pg_snapshot_xmin(pg_current_snapshot())",
    )
    .fetch_one(pool)
    .await?;
    let (heads, streams) = heads_digest(pool, position).await?;
    let signature = pair.sign(&seal_message(position, streams, &heads));
    let public_key = pair.public_key().as_ref().to_vec();
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit_seals (up_to_position, streams, heads_sha256, public_key, signature) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(position)
    .bind(streams)
    .bind(&heads[..])
    .bind(&public_key)
    .bind(signature.as_ref())
    .fetch_one(pool)
    .await?;
    Ok(Seal {
        id,
        up_to_position: position,
        streams,
        heads_sha256: hex::encode(heads),
        public_key: hex::encode(public_key),
    })
}

async fn check_seals(pool: &PgPool, trusted: &[u8]) -> Result<Vec<SealCheck>, AuditError> {
    type Row = (i64, chrono::DateTime<chrono::Utc>, i64, i64, Vec<u8>, Vec<u8>, Vec<u8>);
    let seals: Vec<Row> = sqlx::query_as(
        "SELECT id, sealed_at, up_to_position, streams, heads_sha256, public_key, signature FROM audit_seals ORDER BY id",
    )
    .fetch_all(pool)
    .await?;
    let key = UnparsedPublicKey::new(&signature::ED25519, trusted);
    let mut checks = vec![];
    for (id, sealed_at, up_to_position, streams, heads, public_key, signature) in seals {
        let status = if public_key != trusted {
            "other_key"
        } else if key.verify(&seal_message(up_to_position, streams, &heads), &signature).is_err() {
            "bad_signature"
        } else if heads_digest(pool, up_to_position).await?
            != (heads.as_slice().try_into().unwrap_or(GENESIS), streams)
        {
            "altered"
        } else {
            "intact"
        };
        checks.push(SealCheck { id, sealed_at, up_to_position, status });
    }
    Ok(checks)
}

/// Parses a public key given as 64 hex characters.
pub fn parse_public_key(text: &str) -> Result<Vec<u8>, AuditError> {
    let bytes = hex::decode(text.trim()).map_err(|_| AuditError::Key("the public key is not hex".into()))?;
    if bytes.len() != 32 {
        return Err(AuditError::Key("an Ed25519 public key is 32 bytes (64 hex characters)".into()));
    }
    Ok(bytes)
}
