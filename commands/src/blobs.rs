//! Content-addressed blob store behind the `object_store` crate: a local directory by default,
//! any S3-compatible store (AWS S3, MinIO, Ceph RGW, Garage…) by URL, so that every KLG instance
//! serves every document whichever instance received it.
//!
//! A blob lives at `sha256/<aa>/<bb>/<digest>` (the same layout on disk and in a bucket; a local
//! store written by earlier versions is read as is). An upload streams into `tmp/<uuid>` while
//! being hashed and counted and is moved to its content address only when complete and checked,
//! so a reader never sees a partial blob; a refused or failed upload is aborted and leaves
//! nothing. Equal content is stored once. Keys derive from digests only, never from filenames.
//! On a local directory every write is fsynced (file and directory entries) before it is
//! acknowledged.

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{Stream, StreamExt, TryStreamExt};
use klg_domain::values::Sha256Hex;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::buffered::BufWriter;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientConfigKey, GetOptions, ObjectStore, ObjectStoreExt, RetryConfig};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Default upload limit: 100 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

/// S3 refuses multipart parts under 5 MiB (except the last).
const S3_PART_BYTES: usize = 5 * 1024 * 1024;
/// A local directory has no minimum part size: small parts keep an upload's memory small.
const LOCAL_PART_BYTES: usize = 1024 * 1024;
/// Parts in flight per upload. An upload holds at most (this + 1) parts in memory.
const PARTS_IN_FLIGHT: usize = 2;

#[derive(Debug, thiserror::Error)]
pub enum BlobError<E> {
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the file's SHA-256 is {actual}, not the {expected} given")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("reading the upload failed: {0}")]
    Source(E),
    #[error("blob storage failed: {0}")]
    Store(#[from] object_store::Error),
}

/// The store could not be opened from its configuration.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the blob store {location}: {reason}")]
pub struct OpenError {
    location: String,
    reason: String,
}

/// A blob now durably in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub sha256: Sha256Hex,
    pub size_bytes: u64,
}

/// The underlying store's error.
pub use object_store::Error as StoreError;

/// Some or all of a stored blob's bytes, as they arrive from the store.
pub type BlobBytes = BoxStream<'static, Result<Bytes, object_store::Error>>;

#[derive(Debug, Clone)]
pub struct BlobStore {
    store: Arc<dyn ObjectStore>,
    part_bytes: usize,
    /// Where the store is, for messages (never credentials).
    location: String,
}

impl BlobStore {
    /// A store in the local directory `root` (created if missing).
    pub fn local(root: impl AsRef<std::path::Path>) -> Result<Self, OpenError> {
        let root = root.as_ref();
        let location = root.display().to_string();
        let fail = |reason: String| OpenError { location: location.clone(), reason };
        std::fs::create_dir_all(root).map_err(|e| fail(e.to_string()))?;
        let store = LocalFileSystem::new_with_prefix(root).map_err(|e| fail(e.to_string()))?.with_fsync(true);
        Ok(Self { store: Arc::new(store), part_bytes: LOCAL_PART_BYTES, location })
    }

    /// A store named by URL: `file:///path`, or `s3://bucket[/prefix]` with the endpoint,
    /// region and credentials from the standard `AWS_*` variables (`AWS_ENDPOINT` and
    /// `AWS_ALLOW_HTTP=true` for a MinIO-style server on plain HTTP).
    pub fn from_url(url: &str) -> Result<Self, OpenError> {
        let fail = |reason: String| OpenError { location: url.to_owned(), reason };
        let parsed = url::Url::parse(url).map_err(|e| fail(e.to_string()))?;
        match parsed.scheme() {
            "file" => {
                let path = parsed.to_file_path().map_err(|()| fail("not a local path".to_owned()))?;
                Self::local(path)
            }
            "s3" | "s3a" => {
                install_tls_provider();
                let bucket = s3_builder().with_url(url).build().map_err(|e| fail(e.to_string()))?;
                let prefix = Path::from(parsed.path().trim_matches('/'));
                let store = object_store::prefix::PrefixStore::new(bucket, prefix);
                Ok(Self { store: Arc::new(store), part_bytes: S3_PART_BYTES, location: url.to_owned() })
            }
            other => Err(fail(format!("unsupported scheme {other}: use file:// or s3://"))),
        }
    }

    /// Where the store is, for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// Streams `chunks` into the store, refusing more than `max_bytes` and, when `expected` is
    /// given, content whose digest differs. Memory use is bounded by a few parts, whatever the
    /// file's size.
    pub async fn put_stream<S, B, E>(
        &self,
        chunks: S,
        max_bytes: u64,
        expected: Option<&Sha256Hex>,
    ) -> Result<StoredBlob, BlobError<E>>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
    {
        let temp = Path::from(format!("tmp/{}", Uuid::new_v4()));
        let mut writer = BufWriter::with_capacity(self.store.clone(), temp.clone(), self.part_bytes)
            .with_max_concurrency(PARTS_IN_FLIGHT);
        let written = copy_hashing(chunks, &mut writer, max_bytes).await;
        let (digest, size) = match written {
            Ok(done) => done,
            Err(e) => {
                // Nothing of a refused upload stays: abort the unfinished parts.
                let _ = writer.abort().await;
                return Err(e);
            }
        };
        tokio::io::AsyncWriteExt::shutdown(&mut writer).await.map_err(io_to_store)?;
        if let Some(expected) = expected.filter(|e| **e != digest) {
            let _ = self.store.delete(&temp).await;
            return Err(BlobError::ChecksumMismatch {
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        self.install(&temp, &digest).await?;
        Ok(StoredBlob { sha256: digest, size_bytes: size })
    }

    /// Moves a complete temporary object to its content address.
    async fn install(&self, temp: &Path, digest: &Sha256Hex) -> Result<(), object_store::Error> {
        let target = key_of(digest);
        match self.store.head(&target).await {
            // Same content already stored.
            Ok(_) => self.store.delete(temp).await,
            // Identical content may land concurrently from another upload: overwriting is
            // harmless, so a plain rename (atomic on a directory, copy + delete on S3) suffices.
            Err(object_store::Error::NotFound { .. }) => self.store.rename(temp, &target).await,
            Err(e) => Err(e),
        }
    }

    /// The size of a stored blob, or `None` if it is not stored.
    pub async fn size_of(&self, digest: &Sha256Hex) -> Result<Option<u64>, object_store::Error> {
        match self.store.head(&key_of(digest)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams `range` of a stored blob (all of it when `None`).
    pub async fn read(
        &self,
        digest: &Sha256Hex,
        range: Option<Range<u64>>,
    ) -> Result<BlobBytes, object_store::Error> {
        let options = GetOptions::default().with_range(range);
        Ok(self.store.get_opts(&key_of(digest), options).await?.into_stream())
    }

    /// Whether the store accepts a write now: puts and deletes a small probe object.
    pub async fn check_writable(&self) -> Result<(), object_store::Error> {
        let probe = Path::from(format!("tmp/health-{}", Uuid::new_v4()));
        self.store.put(&probe, Bytes::from_static(b"probe").into()).await?;
        self.store.delete(&probe).await
    }
}

/// KLG's defaults (timeouts, retries), then whatever the standard `AWS_*` variables say — as
/// `AmazonS3Builder::from_env` reads them, so they may override the defaults.
fn s3_builder() -> AmazonS3Builder {
    let client = |key| AmazonS3ConfigKey::Client(key);
    let defaults = AmazonS3Builder::new()
        .with_retry(s3_retries())
        .with_config(client(ClientConfigKey::ConnectTimeout), "5s")
        .with_config(client(ClientConfigKey::Timeout), "60s");
    std::env::vars()
        .filter(|(key, _)| key.starts_with("AWS_"))
        .filter_map(|(key, value)| Some((key.to_ascii_lowercase().parse().ok()?, value)))
        .fold(defaults, |builder, (key, value)| builder.with_config(key, value))
}

/// A request waits for a few quick retries, not the library's three minutes: an upload or a
/// download behind an unreachable store answers 503 within seconds and the client retries.
fn s3_retries() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
            base: 2.0,
        },
        max_retries: 3,
        retry_timeout: Duration::from_secs(20),
    }
}

/// Where the blob with `digest` lives, relative to the store's root.
pub fn key_of(digest: &Sha256Hex) -> Path {
    let d = digest.as_str();
    Path::from(format!("sha256/{}/{}/{d}", &d[0..2], &d[2..4]))
}

/// Copies `chunks` into `writer`, hashing and counting; refuses more than `max_bytes`.
async fn copy_hashing<S, B, E>(
    mut chunks: S,
    writer: &mut BufWriter,
    max_bytes: u64,
) -> Result<(Sha256Hex, u64), BlobError<E>>
where
    S: Stream<Item = Result<B, E>> + Unpin,
    B: AsRef<[u8]>,
{
    let mut hasher = Sha256::new();
    let mut size: u64 = 0;
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(BlobError::Source)?;
        let bytes = chunk.as_ref();
        size += bytes.len() as u64;
        if size > max_bytes {
            return Err(BlobError::TooLarge { limit: max_bytes });
        }
        hasher.update(bytes);
        writer.put(Bytes::copy_from_slice(bytes)).await?;
    }
    let digest = Sha256Hex::parse(&hex::encode(hasher.finalize())).expect("hex digest is valid");
    Ok((digest, size))
}

/// `BufWriter`'s `AsyncWrite` side reports store errors as I/O errors.
fn io_to_store(e: std::io::Error) -> object_store::Error {
    object_store::Error::Generic { store: "blob store", source: Box::new(e) }
}

/// The HTTPS client signing S3 requests uses rustls with the `ring` provider KLG already carries
/// (no second crypto stack); it must be installed once per process.
fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Collects a read into memory (tests and small blobs).
pub async fn collect(bytes: BlobBytes) -> Result<Vec<u8>, object_store::Error> {
    bytes
        .try_fold(Vec::new(), |mut all, b| async move {
            all.extend_from_slice(&b);
            Ok(all)
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[&'static [u8]]) -> impl Stream<Item = Result<&'static [u8], std::io::Error>> + Unpin {
        futures_util::stream::iter(data.iter().map(|c| Ok(*c)).collect::<Vec<_>>())
    }

    fn temp_root() -> std::path::PathBuf {
        std::env::temp_dir().join(format!("klg-blobs-{}", Uuid::new_v4()))
    }

    fn files_under(dir: std::path::PathBuf) -> usize {
        walk(&dir).len()
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else { return vec![] };
        entries
            .flatten()
            .flat_map(|e| if e.path().is_dir() { walk(&e.path()) } else { vec![e.path()] })
            .collect()
    }

    #[tokio::test]
    async fn stores_content_under_its_digest_once() {
        let root = temp_root();
        let store = BlobStore::local(&root).unwrap();
        let a = store.put_stream(chunks(&[b"hello ", b"world"]), 100, None).await.unwrap();
        let b = store.put_stream(chunks(&[b"hello world"]), 100, None).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sha256.as_str(), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        let d = a.sha256.as_str();
        let on_disk = root.join("sha256").join(&d[0..2]).join(&d[2..4]).join(d);
        assert_eq!(std::fs::read(on_disk).unwrap(), b"hello world");
        assert_eq!(files_under(root.join("tmp")), 0);
        assert_eq!(files_under(root.join("sha256")), 1);
    }

    #[tokio::test]
    async fn reads_all_or_a_range_and_nothing_for_an_unknown_digest() {
        let store = BlobStore::local(temp_root()).unwrap();
        let blob = store.put_stream(chunks(&[b"0123456789"]), 100, None).await.unwrap();
        assert_eq!(store.size_of(&blob.sha256).await.unwrap(), Some(10));
        let all = store.read(&blob.sha256, None).await.unwrap();
        assert_eq!(collect(all).await.unwrap(), b"0123456789");
        let part = store.read(&blob.sha256, Some(2..7)).await.unwrap();
        assert_eq!(collect(part).await.unwrap(), b"23456");
        let unknown = Sha256Hex::parse(&"0".repeat(64)).unwrap();
        assert_eq!(store.size_of(&unknown).await.unwrap(), None);
    }

    #[tokio::test]
    async fn refuses_oversized_and_mismatching_content_and_leaves_nothing() {
        let root = temp_root();
        let store = BlobStore::local(&root).unwrap();
        let too_big = store.put_stream(chunks(&[b"0123456789", b"x"]), 10, None).await;
        assert!(matches!(too_big, Err(BlobError::TooLarge { limit: 10 })));
        let wrong = Sha256Hex::parse(&"0".repeat(64)).unwrap();
        let mismatch = store.put_stream(chunks(&[b"abc"]), 10, Some(&wrong)).await;
        assert!(matches!(mismatch, Err(BlobError::ChecksumMismatch { .. })));
        assert_eq!(files_under(root.clone()), 0, "{:?}", walk(&root));
    }

    #[tokio::test]
    async fn a_large_upload_in_many_parts_is_refused_past_the_limit_without_leftovers() {
        let root = temp_root();
        let store = BlobStore::local(&root).unwrap();
        let part: &'static [u8] = Box::leak(vec![7u8; 700 * 1024].into_boxed_slice());
        let many = chunks(&[part, part, part, part]);
        let refused = store.put_stream(many, 2 * 1024 * 1024, None).await;
        assert!(matches!(refused, Err(BlobError::TooLarge { .. })));
        assert_eq!(files_under(root.clone()), 0, "{:?}", walk(&root));
        let stored = store.put_stream(chunks(&[part, part, part]), 4 * 1024 * 1024, None).await.unwrap();
        assert_eq!(stored.size_bytes, 3 * 700 * 1024);
        assert_eq!(files_under(root.join("tmp")), 0);
    }

    #[test]
    fn urls_name_a_local_directory_or_a_bucket_and_nothing_else() {
        let dir = temp_root();
        let local = BlobStore::from_url(url::Url::from_directory_path(&dir).unwrap().as_str()).unwrap();
        assert!(local.location().starts_with('/'));
        assert!(BlobStore::from_url("ftp://example.org/blobs").is_err());
        assert!(BlobStore::from_url("not a url").is_err());
    }
}
