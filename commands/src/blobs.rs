//! Content-addressed blob store on a local directory.
//!
//! A blob lives at `<root>/sha256/<aa>/<bb>/<digest>`. Uploads stream into a temporary file in
//! `<root>/tmp` while being hashed and counted, are fsynced, and are renamed into place only
//! when complete, so a reader never sees a partial blob and a crash leaves at most a temporary
//! file. Equal content is stored once. Paths derive from digests only, never from filenames.

use std::path::{Path, PathBuf};

use futures_util::{Stream, StreamExt};
use klg_domain::values::Sha256Hex;
use sha2::{Digest, Sha256};
use tokio::fs::{self, File};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// Default upload limit: 100 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 100 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum BlobError<E> {
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the file's SHA-256 is {actual}, not the {expected} given")]
    ChecksumMismatch { expected: String, actual: String },
    #[error("reading the upload failed: {0}")]
    Source(E),
    #[error("blob storage failed: {0}")]
    Io(#[from] std::io::Error),
}

/// A blob now durably in the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    pub sha256: Sha256Hex,
    pub size_bytes: u64,
}

#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

impl BlobStore {
    /// Opens (and creates) the store under `root`.
    pub async fn open(root: impl Into<PathBuf>) -> std::io::Result<Self> {
        let root = root.into();
        fs::create_dir_all(root.join("tmp")).await?;
        fs::create_dir_all(root.join("sha256")).await?;
        Ok(Self { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the blob with `digest` lives (whether or not it exists).
    pub fn path_of(&self, digest: &Sha256Hex) -> PathBuf {
        let d = digest.as_str();
        self.root.join("sha256").join(&d[0..2]).join(&d[2..4]).join(d)
    }

    /// Streams `chunks` into the store, refusing more than `max_bytes` and, when `expected` is
    /// given, content whose digest differs. Memory use is one chunk, whatever the file's size.
    pub async fn put_stream<S, B, E>(
        &self,
        mut chunks: S,
        max_bytes: u64,
        expected: Option<&Sha256Hex>,
    ) -> Result<StoredBlob, BlobError<E>>
    where
        S: Stream<Item = Result<B, E>> + Unpin,
        B: AsRef<[u8]>,
    {
        let (temp, mut file) =
            TempFile::create(self.root.join("tmp").join(Uuid::new_v4().to_string())).await?;
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
            file.write_all(bytes).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let digest = Sha256Hex::parse(&hex::encode(hasher.finalize())).expect("hex digest is valid");
        if let Some(expected) = expected.filter(|e| **e != digest) {
            return Err(BlobError::ChecksumMismatch {
                expected: expected.to_string(),
                actual: digest.to_string(),
            });
        }
        self.install(temp, &digest).await?;
        Ok(StoredBlob { sha256: digest, size_bytes: size })
    }

    /// Moves a complete temporary file to its content address.
    async fn install(&self, temp: TempFile, digest: &Sha256Hex) -> std::io::Result<()> {
        let target = self.path_of(digest);
        if fs::try_exists(&target).await? {
            return Ok(()); // Same content already stored; `temp` is removed on drop.
        }
        let dir = target.parent().expect("blob path has a parent");
        fs::create_dir_all(dir).await?;
        fs::rename(temp.keep(), &target).await?;
        // The rename is durable only once the directory entry is.
        File::open(dir).await?.sync_all().await
    }

    /// Opens a stored blob for reading, with its size; `None` if it is not in the store.
    pub async fn open_blob(&self, digest: &Sha256Hex) -> std::io::Result<Option<(File, u64)>> {
        match File::open(self.path_of(digest)).await {
            Ok(file) => {
                let size = file.metadata().await?.len();
                Ok(Some((file, size)))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// A temporary file removed on drop unless kept.
struct TempFile {
    path: Option<PathBuf>,
}

impl TempFile {
    async fn create(path: PathBuf) -> std::io::Result<(Self, File)> {
        let file = File::create(&path).await?;
        Ok((Self { path: Some(path) }, file))
    }

    fn keep(mut self) -> PathBuf {
        self.path.take().expect("kept once")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(data: &[&'static [u8]]) -> impl Stream<Item = Result<&'static [u8], std::io::Error>> + Unpin {
        futures_util::stream::iter(data.iter().map(|c| Ok(*c)).collect::<Vec<_>>())
    }

    fn temp_root() -> PathBuf {
        std::env::temp_dir().join(format!("klg-blobs-{}", Uuid::new_v4()))
    }

    #[tokio::test]
    async fn stores_content_under_its_digest_once() {
        let store = BlobStore::open(temp_root()).await.unwrap();
        let a = store.put_stream(chunks(&[b"hello ", b"world"]), 100, None).await.unwrap();
        let b = store.put_stream(chunks(&[b"hello world"]), 100, None).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.sha256.as_str(), "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
        assert_eq!(std::fs::read(store.path_of(&a.sha256)).unwrap(), b"hello world");
        assert_eq!(std::fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn refuses_oversized_and_mismatching_content_and_leaves_nothing() {
        let store = BlobStore::open(temp_root()).await.unwrap();
        let too_big = store.put_stream(chunks(&[b"0123456789", b"x"]), 10, None).await;
        assert!(matches!(too_big, Err(BlobError::TooLarge { limit: 10 })));
        let wrong = Sha256Hex::parse(&"0".repeat(64)).unwrap();
        let mismatch = store.put_stream(chunks(&[b"abc"]), 10, Some(&wrong)).await;
        assert!(matches!(mismatch, Err(BlobError::ChecksumMismatch { .. })));
        assert_eq!(std::fs::read_dir(store.root().join("tmp")).unwrap().count(), 0);
        assert_eq!(std::fs::read_dir(store.root().join("sha256")).unwrap().count(), 0);
    }
}
