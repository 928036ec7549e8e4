//! API tokens. A token reads `klg_<id>_<secret>`: the id is public (it names the row, like a user
//! name, and is recorded with every event the token causes), the secret is 43 random characters
//! (256 bits) shown once at creation. Only the secret's SHA-256 is stored, and it is compared in
//! constant time. A plain hash suffices (no password hashing): the secret is random, not chosen
//! by a person, so there is nothing to guess from its hash.
//!
//! Verified tokens are cached for [`CACHE_TTL`]: a revocation takes effect at once in the
//! process that made it and within that time in every other instance.

use std::collections::HashMap;
use std::fmt;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use klg_domain::identity::{Role, TokenName};
use rand::distributions::{Alphanumeric, DistString};
use rand::rngs::OsRng;
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use subtle::ConstantTimeEq;

/// How long a verified token is trusted without asking the database again.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// The name of the admin token `klg serve` creates when there is none.
pub const BOOTSTRAP_NAME: &str = "bootstrap-admin";

/// Who is calling: the token's id, name and role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub token_id: String,
    pub name: String,
    pub role: Role,
}

/// A token as listed: everything but the secret.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

/// A whole token, secret included. Its `Debug` shows only the id, so it cannot leak into a log.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// The text to hand to the holder, once.
    pub fn reveal(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match parse(&self.0) {
            Some((id, _)) => write!(f, "TokenSecret(klg_{id}_…)"),
            None => f.write_str("TokenSecret(…)"),
        }
    }
}

/// Why a presented token is refused (all are 401 to the caller).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("the token is not a KLG token")]
    Malformed,
    #[error("the token is unknown")]
    Unknown,
    #[error("the token has expired")]
    Expired,
    #[error("the token has been revoked")]
    Revoked,
}

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("a token named {0} exists already (names are never reused: they identify actors)")]
    NameTaken(String),
    #[error("no token {0}")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

#[derive(Clone, sqlx::FromRow)]
struct StoredToken {
    id: String,
    name: String,
    role: String,
    secret_sha256: Vec<u8>,
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

pub struct TokenStore {
    pool: PgPool,
    cache: RwLock<HashMap<String, (StoredToken, Instant)>>,
}

impl TokenStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, cache: RwLock::new(HashMap::new()) }
    }

    /// Issues a token; its secret is returned here and never again.
    pub async fn create(
        &self,
        name: &TokenName,
        role: Role,
        lifetime: Option<Duration>,
        created_by: &str,
    ) -> Result<(TokenInfo, TokenSecret), TokenError> {
        let id = Alphanumeric.sample_string(&mut OsRng, 16);
        let secret = TokenSecret(format!("klg_{id}_{}", Alphanumeric.sample_string(&mut OsRng, 43)));
        let info = self.insert(&id, name, role, &secret, lifetime, created_by).await?;
        Ok((info, secret))
    }

    async fn insert(
        &self,
        id: &str,
        name: &TokenName,
        role: Role,
        secret: &TokenSecret,
        lifetime: Option<Duration>,
        created_by: &str,
    ) -> Result<TokenInfo, TokenError> {
        let expires_at = lifetime
            .map(|l| chrono::Duration::from_std(l).map(|l| Utc::now() + l))
            .transpose()
            .map_err(|_| TokenError::Invalid("lifetime too long".into()))?;
        let (_, hash) = parse(secret.reveal())
            .ok_or(Rejection::Malformed)
            .map_err(|e| TokenError::Invalid(e.to_string()))?;
        sqlx::query_as(
            "INSERT INTO api_tokens (id, name, role, secret_sha256, created_by, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, name, role, created_at, created_by, \
             expires_at, revoked_at, revoked_by",
        )
        .bind(id)
        .bind(name.as_str())
        .bind(role.as_str())
        .bind(&hash[..])
        .bind(created_by)
        .bind(expires_at)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => TokenError::NameTaken(name.to_string()),
            _ => TokenError::Database(e),
        })
    }

    /// When no token exists at all, creates the admin token [`BOOTSTRAP_NAME`]: with the given
    /// text (`KLG_BOOTSTRAP_TOKEN`, which must read `klg_<id>_<secret>`), or a new secret. Returns
    /// the token if one was created now. Two instances starting together create one: the name
    /// is unique.
    pub async fn bootstrap(&self, given: Option<&str>) -> Result<Option<TokenSecret>, TokenError> {
        let any: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM api_tokens)").fetch_one(&self.pool).await?;
        if any {
            return Ok(None);
        }
        let name = TokenName::parse(BOOTSTRAP_NAME).expect("valid name");
        let result = match given {
            Some(text) => {
                let (id, _) = parse(text).ok_or_else(|| {
                    TokenError::Invalid(
                        "KLG_BOOTSTRAP_TOKEN must read klg_<id>_<secret>: an id of 1-32 letters or digits, a secret of at least 32 characters".into(),
                    )
                })?;
                let secret = TokenSecret(text.to_owned());
                self.insert(&id, &name, Role::Admin, &secret, None, "klg serve (bootstrap)")
                    .await
                    .map(|_| secret)
            }
            None => self.create(&name, Role::Admin, None, "klg serve (bootstrap)").await.map(|(_, s)| s),
        };
        match result {
            Ok(secret) => Ok(Some(secret)),
            Err(TokenError::NameTaken(_)) => Ok(None), // Another instance got there first.
            Err(e) => Err(e),
        }
    }

    /// Every token, newest first; never a secret.
    pub async fn list(&self) -> Result<Vec<TokenInfo>, TokenError> {
        Ok(sqlx::query_as(
            "SELECT id, name, role, created_at, created_by, expires_at, revoked_at, revoked_by \
             FROM api_tokens ORDER BY created_at DESC, id",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Revokes the token with this id or name (revoking twice keeps the first revocation).
    pub async fn revoke(&self, id_or_name: &str, by: &str) -> Result<TokenInfo, TokenError> {
        let info: Option<TokenInfo> = sqlx::query_as(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, $2) \
             WHERE id = $1 OR name = $1 RETURNING id, name, role, created_at, created_by, expires_at, \
             revoked_at, revoked_by",
        )
        .bind(id_or_name)
        .bind(by)
        .fetch_optional(&self.pool)
        .await?;
        let info = info.ok_or_else(|| TokenError::NotFound(id_or_name.to_owned()))?;
        self.cache_mut().remove(&info.id);
        Ok(info)
    }

    /// Who presents `token`, if it is valid now.
    pub async fn verify(&self, token: &str) -> Result<Result<Caller, Rejection>, sqlx::Error> {
        let Some((id, hash)) = parse(token) else {
            return Ok(Err(Rejection::Malformed));
        };
        let Some(stored) = self.stored(&id).await? else {
            return Ok(Err(Rejection::Unknown));
        };
        if !bool::from(stored.secret_sha256.ct_eq(&hash[..])) {
            return Ok(Err(Rejection::Unknown));
        }
        if stored.revoked_at.is_some() {
            return Ok(Err(Rejection::Revoked));
        }
        if stored.expires_at.is_some_and(|at| at <= Utc::now()) {
            return Ok(Err(Rejection::Expired));
        }
        let role = stored.role.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?;
        Ok(Ok(Caller { token_id: stored.id, name: stored.name, role }))
    }

    /// The cache, for writing; a panic elsewhere while it was held leaves entries that are still
    /// whole rows, so a poisoned lock is used as it is.
    fn cache_mut(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, (StoredToken, Instant)>> {
        self.cache.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The token row, from the cache when fresh.
    async fn stored(&self, id: &str) -> Result<Option<StoredToken>, sqlx::Error> {
        let cached = self.cache.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(id).cloned();
        if let Some((token, at)) = cached {
            if at.elapsed() < CACHE_TTL {
                return Ok(Some(token));
            }
        }
        let stored: Option<StoredToken> = sqlx::query_as(
            "SELECT id, name, role, secret_sha256, expires_at, revoked_at FROM api_tokens WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        if let Some(token) = &stored {
            self.cache_mut().insert(id.to_owned(), (token.clone(), Instant::now()));
        }
        Ok(stored)
    }
}

/// Splits `klg_<id>_<secret>` into the id and the secret's SHA-256.
fn parse(token: &str) -> Option<(String, [u8; 32])> {
    let rest = token.strip_prefix("klg_")?;
    let (id, secret) = rest.split_once('_')?;
    let id_ok = (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric());
    let secret_ok = secret.len() >= 32 && secret.len() <= 256 && secret.bytes().all(|b| b.is_ascii_graphic());
    (id_ok && secret_ok).then(|| (id.to_owned(), Sha256::digest(secret.as_bytes()).into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_into_a_public_id_and_a_hashed_secret() {
        let secret = "s".repeat(43);
        let (id, hash) = parse(&format!("klg_Ab12_{secret}")).unwrap();
        assert_eq!(id, "Ab12");
        assert_eq!(hash, <[u8; 32]>::from(Sha256::digest(secret.as_bytes())));
        for bad in
            ["", "klg_", "klg_id", &format!("xyz_id_{secret}"), &format!("klg__{secret}"), "klg_id_short"]
        {
            assert!(parse(bad).is_none(), "{bad}");
        }
        assert!(parse(&format!("klg_{}_{secret}", "i".repeat(33))).is_none());
    }

    #[test]
    fn a_token_never_shows_its_secret_in_debug_output() {
        let token = TokenSecret(format!("klg_Ab12_{}", "s".repeat(43)));
        assert_eq!(format!("{token:?}"), "TokenSecret(klg_Ab12_…)");
    }
}
