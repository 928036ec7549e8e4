//! A 50 MiB upload streams to disk: the process's peak memory grows far less than the file.
//! Alone in its test binary, so no other test's allocations share the process.

use std::convert::Infallible;

use awc::http::StatusCode;
use bytes::Bytes;
use futures_util::stream;
use klg_tests::{multipart_content_type, multipart_head, multipart_tail, spawn_app, Part};
use sha2::{Digest, Sha256};

const CHUNK: usize = 64 * 1024;
const CHUNKS: usize = 800; // 50 MiB

/// Deterministic, non-repeating content for chunk `i`.
fn chunk(i: usize) -> Bytes {
    let mut state = (i as u64).wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    let mut data = Vec::with_capacity(CHUNK);
    while data.len() < CHUNK {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        data.extend_from_slice(&state.to_le_bytes());
    }
    Bytes::from(data)
}

/// Peak resident memory of this process so far, in KiB.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("procfs");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("VmHWM");
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[actix_rt::test]
async fn a_50_mib_upload_streams_with_flat_memory_and_a_matching_checksum() {
    let app = spawn_app().await;
    // Warm up allocator, pools and code paths with a small upload first.
    let warm = app.upload(&[Part::file("warm.bin", "application/octet-stream", &chunk(0))]).await;
    assert_eq!(warm.status, StatusCode::CREATED);
    let expected = hex::encode((0..CHUNKS).fold(Sha256::new(), |h, i| h.chain_update(chunk(i))).finalize());
    let before = peak_rss_kib();

    let head = multipart_head(&Part::file("manual.bin", "application/octet-stream", b""));
    let parts = std::iter::once(head.into())
        .chain((0..CHUNKS).map(chunk))
        .chain([Bytes::from_static(b"\r\n"), multipart_tail().into()])
        .map(Ok::<Bytes, Infallible>);
    let response = app
        .client
        .post(app.url("/api/inbox/files"))
        .insert_header(("content-type", multipart_content_type()))
        .send_stream(stream::iter(parts))
        .await
        .expect("upload sent");
    let reply = klg_tests::read(response).await;
    let growth_mib = (peak_rss_kib() - before) as f64 / 1024.0;

    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let event = &app.events_of(reply.body["id"].as_str().unwrap()).await[0].2["FileReceived"];
    assert_eq!(event["sha256"], expected.as_str());
    assert_eq!(event["size_bytes"], (CHUNK * CHUNKS) as u64);
    let blob = app.blob_dir.join("sha256").join(&expected[0..2]).join(&expected[2..4]).join(&expected);
    assert_eq!(std::fs::metadata(blob).unwrap().len(), (CHUNK * CHUNKS) as u64);
    println!("peak memory grew by {growth_mib:.1} MiB for a 50 MiB upload");
    assert!(
        growth_mib < 16.0,
        "peak memory grew by {growth_mib:.1} MiB: the upload is buffered, not streamed"
    );
}
