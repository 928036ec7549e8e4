//! Apache Flink itself, for conformance tests of the SQL jobs: Flink 2.0's jars (installed by
//! scripts/test-setup) and a small runner that executes SQL files in a local mini-cluster.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `$KLG_FLINK_HOME`, or where scripts/test-setup puts Flink.
pub fn flink_home() -> PathBuf {
    let home = std::env::var_os("KLG_FLINK_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").expect("HOME")).join(".cache/klg/flink"));
    assert!(
        home.join("classes/KlgSqlRunner.class").exists(),
        "Flink is not set up in {}: run scripts/test-setup",
        home.display()
    );
    home
}

/// A file of the repository's `flink/` folder.
pub fn sql(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink/sql").join(relative)
}

/// Runs SQL files on Flink (`batch` or `streaming`), with `env` for their `${NAME}`s.
pub fn command(mode: &str, files: &[PathBuf], env: &[(&str, String)]) -> Command {
    let home = flink_home();
    let classpath = format!("{}/lib/*:{}/classes", home.display(), home.display());
    let log_config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../flink/runner/log4j2.properties");
    let mut command = Command::new("java");
    command
        .args(["--add-opens=java.base/java.util=ALL-UNNAMED", "--add-opens=java.base/java.lang=ALL-UNNAMED"])
        .arg(format!("-Dlog4j.configurationFile={}", log_config.display()))
        .args(["-cp", &classpath, "KlgSqlRunner", mode])
        .args(files)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())));
    command
}

/// Runs a batch job to completion.
pub fn run_batch(files: &[PathBuf], env: &[(&str, String)]) -> Output {
    command("batch", files, env).output().expect("java runs")
}

/// A streaming job running in the background; killed when dropped.
pub struct StreamingJob(pub std::process::Child);

impl StreamingJob {
    pub fn start(files: &[PathBuf], env: &[(&str, String)]) -> Self {
        let child = command("streaming", files, env)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("java starts");
        Self(child)
    }

    /// Whether the job died (it should run until killed), with its error output.
    pub fn failure(&mut self) -> Option<String> {
        use std::io::Read;
        match self.0.try_wait() {
            Ok(Some(status)) => {
                let mut stderr = String::new();
                if let Some(mut pipe) = self.0.stderr.take() {
                    let _ = pipe.read_to_string(&mut stderr);
                }
                Some(format!("Flink exited with {status}:\n{stderr}"))
            }
            _ => None,
        }
    }
}

impl Drop for StreamingJob {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
