//! Real `klg` processes for tests that need more than one instance or a hard kill.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The `klg` binary: `$KLG_BIN`, or `target/<profile>/klg` next to this test's executable
/// (`scripts/test` builds it before the tests run).
pub fn klg_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("KLG_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe.parent().and_then(|deps| deps.parent()).expect("target/<profile>/deps");
    let binary = profile_dir.join("klg");
    assert!(
        binary.exists(),
        "{} is missing: run `cargo build --bin klg` first (scripts/test does)",
        binary.display()
    );
    binary
}

/// `klg project --rebuild --once` as a process of its own against `database_url`; what it answered.
pub fn run_project_rebuild(database_url: &str) -> std::process::Output {
    std::process::Command::new(klg_binary())
        .args(["project", "--rebuild", "--once"])
        .env("DATABASE_URL", database_url)
        .output()
        .expect("klg project runs")
}

/// A running `klg serve`; killed when dropped.
pub struct KlgProcess {
    pub child: Child,
    pub port: u16,
    /// Every line the process logged (JSON), as it arrives.
    logs: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl KlgProcess {
    /// Starts `klg serve` on a free port against `database_url` and waits until it listens.
    pub fn serve(database_url: &str, blob_dir: &std::path::Path) -> Self {
        Self::serve_with(database_url, blob_dir, &[])
    }

    /// [`serve`](Self::serve) with extra environment variables.
    pub fn serve_with(database_url: &str, blob_dir: &std::path::Path, env: &[(&str, String)]) -> Self {
        let mut child = Command::new(klg_binary())
            .env("KLG_BOOTSTRAP_TOKEN", crate::ADMIN_TOKEN)
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .args(["--log-json", "serve"])
            .env("DATABASE_URL", database_url)
            .env("KLG_BIND", "127.0.0.1:0")
            .env("KLG_BLOB_DIR", blob_dir)
            .env("KLG_WORKERS", "1")
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("klg starts");
        let stderr = child.stderr.take().expect("stderr piped");
        let (port_tx, port_rx) = mpsc::channel();
        let logs = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
        let kept = logs.clone();
        std::thread::spawn(move || {
            // Keep draining so the child never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line.clone());
                if let Ok(entry) = serde_json::from_str::<serde_json::Value>(&line) {
                    if entry["fields"]["message"] == "klg serving" {
                        let _ = port_tx.send(entry["fields"]["port"].as_u64().unwrap_or(0) as u16);
                    }
                }
            }
        });
        let port = port_rx.recv_timeout(Duration::from_secs(30)).expect("klg reported its port");
        Self { child, port, logs }
    }

    /// What the process logged so far, one JSON line each.
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Sends SIGTERM (a graceful stop); wait for the exit with `child.try_wait`.
    pub fn signal_terminate(&self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown hooks, connections just drop.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for KlgProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
