//! Connecting to PostgreSQL.

use std::time::Duration;

use sqlx::migrate::MigrateDatabase;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgSslMode};
use sqlx::{PgPool, Postgres};

/// Default pool size: enough for the command path and the projector on a small machine.
pub const DEFAULT_POOL_SIZE: u32 = 16;

/// Connects, creating the database first if it does not exist (the embedded default must work
/// on a fresh machine with nothing but a running PostgreSQL).
pub async fn connect(url: &str, max_connections: u32) -> Result<PgPool, String> {
    connect_with_timeout(url, max_connections, None).await
}

/// [`connect`], with a `statement_timeout` on every connection: a statement that runs longer is
/// cancelled (SQLSTATE 57014, reported as unavailable) instead of holding a request and a
/// connection without limit.
pub async fn connect_with_timeout(
    url: &str,
    max_connections: u32,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, String> {
    let mut options: PgConnectOptions =
        url.parse().map_err(|e| format!("DATABASE_URL {:?} is not a PostgreSQL URL: {e}", redact(url)))?;
    options = without_tls_on_loopback(options, url, std::env::var_os("PGSSLMODE").is_some());
    if let Some(timeout) = statement_timeout {
        options = options.options([("statement_timeout", format!("{}ms", timeout.as_millis().max(1)))]);
    }
    let unreachable = |e: sqlx::Error| {
        format!(
            "cannot reach PostgreSQL at {} ({e}); start it (e.g. `pg_ctlcluster 15 main start`) \
             or set DATABASE_URL",
            redact(url)
        )
    };
    if !Postgres::database_exists(url).await.map_err(unreachable)? {
        Postgres::create_database(url).await.or_else(|e| match &e {
            // Another process created it between our check and our CREATE.
            sqlx::Error::Database(db) if db.code().as_deref() == Some("42P04") => Ok(()),
            _ => Err(unreachable(e)),
        })?;
    }
    pool_options()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(unreachable)
}

/// A connection idle for this long is checked (one round trip) before it is handed out.
const IDLE_BEFORE_PING: Duration = Duration::from_secs(1);

/// Options every pool of `klg`'s database starts from. A connection taken from the pool is
/// checked only after sitting idle for [`IDLE_BEFORE_PING`] (sqlx's documented pattern), not on
/// every use: the check is a round trip in the path of every command — the group appender takes
/// its connection once per group — and cost a fifth of the throughput at one client (2,000 →
/// 2,450 LogFlight/s, CPU per command 450 → 390 µs; docs/benchmarks.md, session 10). A
/// connection that breaks while in use (PostgreSQL restarted, the backend terminated) fails its
/// statement as it would have mid-statement — a 503 — and is replaced.
pub fn pool_options() -> PgPoolOptions {
    PgPoolOptions::new().test_before_acquire(false).before_acquire(|conn, meta| {
        Box::pin(async move {
            if meta.idle_for >= IDLE_BEFORE_PING {
                sqlx::Connection::ping(conn).await?;
            }
            Ok(true)
        })
    })
}

/// `options` for connections that plan each statement once, with PostgreSQL's generic plan.
///
/// For statements over arrays of a batch (the group append, the projector's flight UPDATE)
/// PostgreSQL otherwise re-plans on every call: the custom plan sees the batch's few rows and
/// always looks cheaper than the generic plan's guess (142 µs a plan for the append, a fifth of
/// its database time; docs/benchmarks.md, sessions 8 and 9). Sequential scans are disallowed
/// too: a generic plan made while a table is nearly empty (a new deployment) would otherwise
/// scan the whole table on every later call, where an index probe per row is the plan wanted.
pub fn planned_once(options: PgConnectOptions) -> PgConnectOptions {
    options.options([("plan_cache_mode", "force_generic_plan"), ("enable_seqscan", "off")])
}

/// TLS to a PostgreSQL on the same host protects nothing (the traffic never leaves the host) and
/// cost PostgreSQL and `klg` 4 % of the CPU under the 32-client command load (docs/benchmarks.md,
/// session 9), so it is off for a loopback host — unless `DATABASE_URL` (`sslmode=…`) or
/// `PGSSLMODE` asks for a mode, which is then used as given.
fn without_tls_on_loopback(options: PgConnectOptions, url: &str, pgsslmode_set: bool) -> PgConnectOptions {
    let asked = pgsslmode_set
        || url::Url::parse(url)
            .is_ok_and(|u| u.query_pairs().any(|(k, _)| k == "sslmode" || k == "ssl-mode"));
    if !asked && is_loopback(options.get_host()) {
        options.ssl_mode(PgSslMode::Disable)
    } else {
        options
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Whether an error means "the database cannot be reached" rather than "the query was wrong":
/// I/O, pool exhaustion, or SQLSTATE classes 08 (connection), 53 (resources), 57P (shutdown),
/// 28 (authorization), 3D000 (database gone) and 57014 (statement timeout).
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed => {
            true
        }
        sqlx::Error::Database(db) => db.code().is_some_and(|c| {
            ["08", "53", "57P", "28"].iter().any(|class| c.starts_with(class)) || c == "3D000" || c == "57014"
        }),
        _ => false,
    }
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use sqlx::postgres::{PgConnectOptions, PgSslMode};

    use super::without_tls_on_loopback;

    fn ssl_mode(url: &str, pgsslmode_set: bool) -> String {
        let options: PgConnectOptions = url.parse().unwrap();
        format!("{:?}", without_tls_on_loopback(options, url, pgsslmode_set).get_ssl_mode())
    }

    #[test]
    fn tls_is_off_for_a_loopback_host_unless_a_mode_is_asked_for() {
        let off = format!("{:?}", PgSslMode::Disable);
        for url in
            ["postgres://u@127.0.0.1:5432/klg", "postgres://u@localhost/klg", "postgres://u@[::1]:5432/klg"]
        {
            assert_eq!(ssl_mode(url, false), off, "{url}");
            assert_ne!(ssl_mode(url, true), off, "{url} with PGSSLMODE");
        }
        assert_eq!(
            ssl_mode("postgres://u@127.0.0.1/klg?sslmode=require", false),
            format!("{:?}", PgSslMode::Require)
        );
        assert_ne!(ssl_mode("postgres://u@db.example.org/klg", false), off);
        assert_ne!(ssl_mode("postgres://u@10.0.0.5/klg", false), off);
    }
}
