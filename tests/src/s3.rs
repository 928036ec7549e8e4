//! An S3-compatible server for tests: moto's server mode (PyPI `moto[server]`), on loopback, one
//! per test, in memory. It stands in for S3 / MinIO (neither can run on these machines): it
//! speaks the S3 REST API that `object_store` signs and sends (put, multipart upload, ranged get,
//! head, copy, delete), which is what the tests prove; it does not check signatures or
//! permissions, so nothing about credentials is verified by it. `scripts/test-setup` installs it.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `$KLG_MOTO_SERVER`, or the copy `scripts/test-setup` installed under `~/.cache/klg/tools`.
pub fn moto_server_binary() -> PathBuf {
    crate::installed_tool("KLG_MOTO_SERVER", "moto/bin/moto_server")
}

pub struct S3Server {
    child: Child,
    pub port: u16,
}

impl S3Server {
    /// Starts the server on a free loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        (0..5)
            .find_map(|_| {
                let port =
                    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
                Self::try_start(port)
            })
            .expect("moto_server did not start")
    }

    /// Starts a new, empty server on `port` (after [`stop`](Self::stop), to end an outage).
    pub fn start_on(port: u16) -> Self {
        for _ in 0..50 {
            if let Some(server) = Self::try_start(port) {
                return server;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("moto_server did not restart on port {port}");
    }

    fn try_start(port: u16) -> Option<Self> {
        let mut child = Command::new(moto_server_binary())
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server starts");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(Self { child, port });
            }
            if child.try_wait().ok().flatten().is_some() {
                return None; // Lost the port to someone else.
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        None
    }

    /// Stops the server (its content is lost): connections are refused until a restart.
    pub fn stop(self) -> u16 {
        self.port
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates `bucket` (path-style `PUT /bucket`).
    pub async fn create_bucket(&self, bucket: &str) {
        let client = awc::Client::default();
        let response = client.put(format!("{}/{bucket}", self.endpoint())).send().await.expect("PUT bucket");
        assert!(response.status().is_success(), "creating bucket {bucket}: {}", response.status());
    }

    /// The environment that points `klg serve` at `s3://bucket/prefix` on this server.
    pub fn klg_env(&self, bucket: &str, prefix: &str) -> Vec<(&'static str, String)> {
        vec![
            ("KLG_BLOB_URL", format!("s3://{bucket}/{prefix}")),
            ("AWS_ENDPOINT", self.endpoint()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_REGION", "us-east-1".into()),
            ("AWS_ACCESS_KEY_ID", "klg-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "klg-test-secret".into()),
        ]
    }

    /// Object keys under `prefix` in `bucket` (path-style `ListObjectsV2`).
    pub async fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let client = awc::Client::default();
        let url = format!("{}/{bucket}?list-type=2&prefix={prefix}", self.endpoint());
        let mut response = client.get(url).send().await.expect("list objects");
        let body = response.body().limit(16 * 1024 * 1024).await.expect("listing");
        let text = String::from_utf8_lossy(&body);
        text.split("<Key>").skip(1).filter_map(|k| k.split("</Key>").next()).map(str::to_owned).collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
