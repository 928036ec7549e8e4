//! Checking the SQL KLG sends to RisingWave with RisingWave's own parser.
//!
//! RisingWave cannot run on these machines; its SQL parser can (`risingwave-sql-check`, v3.0.3,
//! located by `scripts/test-setup`). In RisingWave read mode the tests put a [`StatementRecorder`]
//! between KLG and the PostgreSQL stand-in: a pgwire proxy that records the text of every
//! statement KLG sends (simple `Query` and extended-protocol `Parse` messages) — the statements
//! actually sent, not a hand-kept list. [`assert_risingwave_accepts`] then runs them through the
//! parser and through [`binding_traps`], the binder-level mistakes the parser cannot see.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// `$KLG_RISINGWAVE_SQL_CHECK`: RisingWave's parser behind a CLI (set by `scripts/test-setup`).
pub fn parser() -> PathBuf {
    let path = std::env::var_os("KLG_RISINGWAVE_SQL_CHECK")
        .map(PathBuf::from)
        .expect("KLG_RISINGWAVE_SQL_CHECK is not set: run the tests with scripts/test");
    assert!(path.exists(), "{} is missing", path.display());
    path
}

/// Runs every statement through RisingWave's parser; panics naming each one it refuses, or
/// each binding trap found.
pub fn assert_risingwave_accepts(statements: &[String]) {
    assert!(!statements.is_empty(), "no statements to check");
    let dir = std::env::temp_dir().join(format!("klg-rw-sql-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let files: Vec<PathBuf> = statements
        .iter()
        .enumerate()
        .map(|(i, sql)| {
            let file = dir.join(format!("statement-{i:04}.sql"));
            std::fs::write(&file, sql).expect("statement file");
            file
        })
        .collect();
    let output = Command::new(parser()).args(&files).output().expect("risingwave-sql-check runs");
    let report =
        String::from_utf8_lossy(&output.stdout).into_owned() + &String::from_utf8_lossy(&output.stderr);
    let _ = std::fs::remove_dir_all(&dir);
    let refused: Vec<&str> = report.lines().filter(|l| l.starts_with("FAIL")).collect();
    assert!(
        output.status.success() && refused.is_empty(),
        "RisingWave's parser refuses {} of {} statements:\n{report}",
        refused.len(),
        statements.len()
    );
    let traps: Vec<String> = statements
        .iter()
        .flat_map(|s| binding_traps(s).into_iter().map(move |t| format!("{t}: {s}")))
        .collect();
    assert!(traps.is_empty(), "statements RisingWave cannot bind:\n{}", traps.join("\n"));
}

/// Binder-level traps in one statement that RisingWave's parser accepts but its binder refuses:
/// a bound `LIMIT $n` / `OFFSET $n` (RisingWave must fold them to constants when the statement is
/// prepared, and sqlx prepares every statement) and a whole-row reference such as `to_jsonb(v)`
/// over a relation alias `v` (the binder resolves a bare name only as a column).
pub fn binding_traps(sql: &str) -> Vec<String> {
    let tokens = tokens(sql);
    let upper = |i: usize| tokens.get(i).map(|t| t.to_ascii_uppercase()).unwrap_or_default();
    let relations = relation_names(&tokens);
    let mut traps = vec![];
    for i in 0..tokens.len() {
        let word = upper(i);
        if (word == "LIMIT" || word == "OFFSET") && tokens.get(i + 1).is_some_and(|t| t.starts_with('$')) {
            traps.push(format!("{word} bound as a parameter ({word} {})", tokens[i + 1]));
        }
        let is_call = is_identifier(&tokens[i]) && tokens.get(i + 1).is_some_and(|t| t == "(");
        if is_call && tokens.get(i + 3).is_some_and(|t| t == ")") {
            let argument = tokens[i + 2].to_ascii_lowercase();
            if is_identifier(&argument) && relations.contains(&argument) {
                traps.push(format!("whole-row reference {}({argument})", tokens[i]));
            }
        }
    }
    traps
}

/// Names that stand for relations: `FROM t`, `JOIN t`, their aliases, and `(…) alias`.
fn relation_names(tokens: &[String]) -> Vec<String> {
    const NOT_ALIASES: [&str; 12] =
        ["WHERE", "ON", "JOIN", "LEFT", "INNER", "GROUP", "ORDER", "LIMIT", "UNION", "USING", "AS", "CROSS"];
    let alias_at = |i: usize| -> Option<String> {
        let mut i = i;
        if tokens.get(i).is_some_and(|t| t.eq_ignore_ascii_case("AS")) {
            i += 1;
        }
        tokens
            .get(i)
            .filter(|t| is_identifier(t) && !NOT_ALIASES.contains(&t.to_ascii_uppercase().as_str()))
            .map(|t| t.to_ascii_lowercase())
    };
    let mut names = vec![];
    for (i, token) in tokens.iter().enumerate() {
        let upper = token.to_ascii_uppercase();
        if (upper == "FROM" || upper == "JOIN") && tokens.get(i + 1).is_some_and(|t| is_identifier(t)) {
            names.push(tokens[i + 1].to_ascii_lowercase());
            names.extend(alias_at(i + 2));
        }
        if token == ")" {
            names.extend(alias_at(i + 1));
        }
    }
    names
}

fn is_identifier(token: &str) -> bool {
    token.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
}

/// Words, `$n` parameters and single punctuation characters; string literals and comments dropped.
fn tokens(sql: &str) -> Vec<String> {
    let chars: Vec<char> = sql.chars().collect();
    let mut tokens = vec![];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            i += 1;
            while i < chars.len() && chars[i] != '\'' {
                i += 1;
            }
            i += 1;
        } else if c == '-' && chars.get(i + 1) == Some(&'-') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_' || chars[i] == '$') {
                i += 1;
            }
            tokens.push(chars[start..i].iter().collect());
        } else if c == '"' {
            let start = i + 1;
            i += 1;
            while i < chars.len() && chars[i] != '"' {
                i += 1;
            }
            tokens.push(chars[start..i.min(chars.len())].iter().collect());
            i += 1;
        } else {
            if !c.is_whitespace() {
                tokens.push(c.to_string());
            }
            i += 1;
        }
    }
    tokens
}

/// A pgwire proxy on loopback that records the SQL text clients send through it.
pub struct StatementRecorder {
    pub port: u16,
    statements: Arc<Mutex<Vec<String>>>,
    accept: tokio::task::JoinHandle<()>,
}

impl StatementRecorder {
    /// Listens on a free loopback port and forwards every connection to `upstream` (`host:port`).
    pub async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("recorder port");
        let port = listener.local_addr().expect("recorder address").port();
        let statements = Arc::new(Mutex::new(vec![]));
        let recorded = statements.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(&upstream).await else { continue };
                tokio::spawn(relay(client, server, recorded.clone()));
            }
        });
        Self { port, statements, accept }
    }

    /// `url` (a PostgreSQL URL) redirected through the recorder, without TLS.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme_and_user, rest) = url.split_once('@').expect("URL with user@host");
        let database = rest.split_once('/').map_or("", |(_, d)| d);
        format!("{scheme_and_user}@127.0.0.1:{}/{database}?sslmode=disable", self.port)
    }

    /// Every distinct statement recorded so far, in first-seen order.
    pub fn statements(&self) -> Vec<String> {
        let mut seen = vec![];
        for statement in self.statements.lock().unwrap().iter() {
            if !seen.contains(statement) {
                seen.push(statement.clone());
            }
        }
        seen
    }
}

impl Drop for StatementRecorder {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// Forwards both ways; parses the client's side to record statements.
async fn relay(client: TcpStream, server: TcpStream, statements: Arc<Mutex<Vec<String>>>) {
    let (mut server_read, server_write) = server.into_split();
    let (client_read, mut client_write) = client.into_split();
    let _ = tokio::try_join!(
        tokio::io::copy(&mut server_read, &mut client_write),
        forward_recording(client_read, server_write, &statements)
    );
}

/// Copies the client's messages to the server, recording the SQL of `Query` and `Parse`.
/// (The recorder's URL says `sslmode=disable`: an SSLRequest would make the rest unreadable.)
async fn forward_recording(
    mut client: tokio::net::tcp::OwnedReadHalf,
    mut server: tokio::net::tcp::OwnedWriteHalf,
    statements: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    const SSL_REQUEST: [u8; 4] = 80877103u32.to_be_bytes();
    let mut started = false;
    loop {
        // Until the startup message, messages have no type byte.
        let kind = if started { Some(client.read_u8().await?) } else { None };
        let length = client.read_u32().await?;
        let mut body = vec![0; (length as usize).saturating_sub(4)];
        client.read_exact(&mut body).await?;
        match kind {
            None => started = !body.starts_with(&SSL_REQUEST),
            Some(b'Q') => record(statements, &body),
            Some(b'P') => record(statements, body.splitn(2, |b| *b == 0).nth(1).unwrap_or_default()),
            Some(_) => {}
        }
        if let Some(kind) = kind {
            server.write_u8(kind).await?;
        }
        server.write_u32(length).await?;
        server.write_all(&body).await?;
    }
}

/// Records the NUL-terminated SQL text at the start of `bytes`.
fn record(statements: &Mutex<Vec<String>>, bytes: &[u8]) {
    let text = bytes.split(|b| *b == 0).next().unwrap_or_default();
    let sql = String::from_utf8_lossy(text).trim().to_owned();
    if !sql.is_empty() {
        statements.lock().unwrap().push(sql);
    }
}

#[cfg(test)]
mod tests {
    use super::binding_traps;

    #[test]
    fn bound_limits_and_whole_row_references_are_traps() {
        assert_eq!(binding_traps("SELECT a FROM t ORDER BY a LIMIT $1 OFFSET $2").len(), 2);
        assert_eq!(binding_traps("SELECT to_jsonb(v) FROM (SELECT 1 AS x) v").len(), 1);
        assert_eq!(binding_traps("SELECT row_to_json(t) FROM aircraft t").len(), 1);
        assert_eq!(binding_traps("SELECT to_jsonb(a) FROM aircraft").len(), 0);
        assert!(binding_traps("SELECT max(x) FROM t WHERE y = $1 ORDER BY x LIMIT 10 OFFSET 20").is_empty());
        assert!(binding_traps("SELECT count(*) FROM (SELECT 1) hits WHERE 'LIMIT $1' = ''").is_empty());
    }
}
