//! The blob store shared by several instances through an S3-compatible bucket, and what an
//! unreachable store looks like to clients. The bucket is served by moto's S3 server
//! (`klg_tests::s3`), standing in for S3 / MinIO: these tests prove KLG's S3 traffic (multipart
//! upload, ranged reads, head, copy, delete) against a real HTTP S3 implementation, not the
//! provider's authentication.

use awc::http::StatusCode;
use klg_tests::process::KlgProcess;
use klg_tests::s3::S3Server;
use klg_tests::{fresh_database_url, multipart, multipart_content_type, read, sha256_hex, Part};

const BUCKET: &str = "klg-blobs";

fn local_dir(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("klg-{name}-{}", uuid::Uuid::new_v4().simple()))
}

/// Deterministic, non-repeating bytes: 12 MiB spans several S3 multipart parts.
fn document(len: usize) -> Vec<u8> {
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (state >> 56) as u8
        })
        .collect()
}

async fn upload(client: &awc::Client, server: &KlgProcess, name: &str, data: &[u8]) -> klg_tests::Reply {
    let body = multipart(&[Part::file(name, "application/pdf", data)]);
    read(
        client
            .post(server.url("/api/inbox/files"))
            .insert_header(("content-type", multipart_content_type()))
            .send_body(body)
            .await
            .unwrap(),
    )
    .await
}

/// The document's bytes once `server` has read up to `position` (another instance wrote it).
async fn download(
    client: &awc::Client,
    server: &KlgProcess,
    (id, position): (&str, i64),
    range: Option<&str>,
) -> (StatusCode, Vec<u8>) {
    let mut request =
        client.get(server.url(&format!("/api/inbox/files/{id}/content?min_position={position}")));
    if let Some(range) = range {
        request = request.insert_header(("range", range));
    }
    let mut response = request.send().await.unwrap();
    let body = response.body().limit(64 * 1024 * 1024).await.unwrap();
    (response.status(), body.to_vec())
}

#[actix_rt::test]
async fn two_instances_sharing_an_s3_bucket_serve_each_others_documents() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET).await;
    let (url, name) = fresh_database_url();
    let _database = klg_tests::DropDatabase(name);
    // Each instance has a local directory of its own: only the bucket is shared.
    let env = s3.klg_env(BUCKET, "klg");
    let first = KlgProcess::serve_with(&url, &local_dir("first"), &env);
    let second = KlgProcess::serve_with(&url, &local_dir("second"), &env);
    let client = klg_tests::admin_client();

    let data = document(12 * 1024 * 1024 + 321);
    let received = upload(&client, &first, "AMM-rev-52.pdf", &data).await;
    assert_eq!(received.status, StatusCode::CREATED, "{}", received.body);
    let document_at = (received.body["id"].as_str().unwrap(), received.body["position"].as_i64().unwrap());

    let (status, whole) = download(&client, &second, document_at, None).await;
    assert_eq!(status, StatusCode::OK, "the other instance serves the document");
    assert_eq!(sha256_hex(&whole), sha256_hex(&data));
    let (status, part) = download(&client, &second, document_at, Some("bytes=6000000-6000099")).await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part, &data[6_000_000..6_000_100]);

    // The same content through the other instance is stored once.
    let again = upload(&client, &second, "AMM-rev-52-copy.pdf", &data).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
    let digest = sha256_hex(&data);
    let stored = s3.keys(BUCKET, "klg/").await;
    assert_eq!(
        stored,
        [format!("klg/sha256/{}/{}/{digest}", &digest[0..2], &digest[2..4])],
        "no temporary object left"
    );
}

#[actix_rt::test]
async fn an_unreachable_blob_store_answers_503_stores_nothing_and_recovers_by_itself() {
    let s3 = S3Server::start();
    s3.create_bucket(BUCKET).await;
    let (url, name) = fresh_database_url();
    let _database = klg_tests::DropDatabase(name);
    let server = KlgProcess::serve_with(&url, &local_dir("outage"), &s3.klg_env(BUCKET, "klg"));
    let client = klg_tests::admin_client();
    let ready = |client: &awc::Client| {
        let url = server.url("/health/ready");
        let client = client.clone();
        async move { read(client.get(url).send().await.unwrap()).await }
    };
    assert_eq!(ready(&client).await.status, StatusCode::OK);

    let port = s3.stop();
    let refused = upload(&client, &server, "CRS-0042.pdf", b"%PDF-1.7 release").await;
    refused.assert_problem(503);
    assert_eq!(refused.body["type"], "urn:klg:problem:blob-store-unavailable");
    assert!(refused.header("retry-after").is_some());
    let pool = sqlx::PgPool::connect(&url).await.unwrap();
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM events").fetch_one(&pool).await.unwrap();
    assert_eq!(events, 0, "no document event without its bytes");
    let health = ready(&client).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.body["checks"]["blob_store"]["status"], "failing");
    assert!(health.body["checks"]["blob_store"]["reason"].as_str().unwrap().contains("s3://klg-blobs/klg"));

    let s3 = S3Server::start_on(port);
    s3.create_bucket(BUCKET).await;
    assert_eq!(ready(&client).await.status, StatusCode::OK);
    let accepted = upload(&client, &server, "CRS-0042.pdf", b"%PDF-1.7 release").await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
}
