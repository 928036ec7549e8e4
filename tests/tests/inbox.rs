//! End-to-end: inbox commands over HTTP, including uploads into the blob store.

use awc::http::StatusCode;
use klg_tests::{multipart_content_type, sha256_hex, spawn_app, spawn_app_with, Part};
use serde_json::json;

#[actix_rt::test]
async fn an_upload_stores_the_bytes_by_checksum_and_only_metadata_in_the_event() {
    let app = spawn_app().await;
    let data = b"%PDF-1.7 airworthiness directive 2024-05";
    let digest = sha256_hex(data);
    let reply = app
        .upload(&[
            Part::text("source", "email"),
            Part::text("sha256", &digest),
            Part::file("AD 2024-05.pdf", "application/pdf", data),
        ])
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    assert_eq!(reply.header("location"), Some(format!("/api/inbox/files/{id}").as_str()));
    assert_eq!(reply.header("etag"), Some("\"1\""));

    let events = app.events_of(id).await;
    assert_eq!(
        events[0].2,
        json!({"FileReceived": {
            "filename": "AD 2024-05.pdf", "content_type": "application/pdf",
            "size_bytes": data.len(), "sha256": digest, "source": "email"
        }})
    );
    let blob = app.blob_dir.join("sha256").join(&digest[0..2]).join(&digest[2..4]).join(&digest);
    assert_eq!(std::fs::read(blob).unwrap(), data);
    assert_eq!(app.temporary_blobs(), 0);
}

#[actix_rt::test]
async fn hostile_filenames_are_neutralised() {
    let app = spawn_app().await;
    for (hostile, safe) in [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("report\u{202e}fdp.exe", "reportfdp.exe"),
        ("..", "unnamed"),
    ] {
        let reply = app.upload(&[Part::file(hostile, "application/octet-stream", b"x")]).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
        let events = app.events_of(reply.body["id"].as_str().unwrap()).await;
        assert_eq!(events[0].2["FileReceived"]["filename"], safe, "{hostile}");
    }
    let stored: Vec<String> = walk(&app.blob_dir);
    assert!(stored.iter().all(|p| p.contains("/sha256/")), "{stored:?}");
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut files = vec![];
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        if entry.path().is_dir() {
            files.extend(walk(&entry.path()));
        } else {
            files.push(entry.path().display().to_string());
        }
    }
    files
}

#[actix_rt::test]
async fn bad_uploads_get_the_right_problem_and_store_nothing() {
    let app = spawn_app_with(|s| s.max_upload_bytes = 1024).await;
    let small = b"0123456789";
    app.send_raw("POST", "/api/inbox/files", "application/json", b"{}".to_vec()).await.assert_problem(415);
    assert_eq!(app.upload(&[Part::text("source", "email")]).await.problem_fields(), ["file"]);
    assert_eq!(
        app.upload(&[Part::text("source", "fax"), Part::file("a.pdf", "application/pdf", small)])
            .await
            .problem_fields(),
        ["source"]
    );
    assert_eq!(
        app.upload(&[Part::text("colour", "red"), Part::file("a.pdf", "application/pdf", small)])
            .await
            .problem_fields(),
        ["colour"]
    );
    let wrong_digest = sha256_hex(b"something else");
    let mismatch = app
        .upload(&[Part::text("sha256", &wrong_digest), Part::file("a.pdf", "application/pdf", small)])
        .await;
    assert_eq!(mismatch.problem_fields(), ["sha256"]);
    let late_mismatch = app
        .upload(&[Part::file("a.pdf", "application/pdf", small), Part::text("sha256", &wrong_digest)])
        .await;
    assert_eq!(late_mismatch.problem_fields(), ["sha256"]);
    let two = app
        .upload(&[
            Part::file("a.pdf", "application/pdf", small),
            Part::file("b.pdf", "application/pdf", small),
        ])
        .await;
    assert_eq!(two.problem_fields(), ["file"]);
    let big = vec![b'x'; 2048];
    app.upload(&[Part::file("big.bin", "application/octet-stream", &big)]).await.assert_problem(413);
    let truncated = b"--klg-test-boundary-7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\nabc".to_vec();
    app.send_raw("POST", "/api/inbox/files", &multipart_content_type(), truncated).await.assert_problem(400);
    let empty = app.upload(&[Part::file("empty.pdf", "application/pdf", b"")]).await;
    assert_eq!(empty.problem_fields(), ["file"], "{}", empty.body);
    assert_eq!(app.event_count().await, 0);
    assert_eq!(app.temporary_blobs(), 0);
}

#[actix_rt::test]
async fn a_document_moves_through_classification_linking_processing_and_archive() {
    let app = spawn_app().await;
    let aircraft = app.register_aircraft("RA-89101").await;
    let id = app.upload_document().await;
    let at = |action: &str| format!("/api/inbox/files/{id}/{action}");

    let early = app.post_json(&at("process"), &json!({"note": "done"})).await;
    assert_eq!(early.assert_problem(409)["type"], "urn:klg:problem:document-not-classified");
    app.post_json(&at("archive"), &json!({})).await.assert_problem(409);

    assert_eq!(
        app.post_json(&at("classify"), &json!({"document_type": "airworthiness_directive"})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post_json(&at("classify"), &json!({"document_type": "memo"})).await.problem_fields(),
        ["document_type"]
    );
    assert_eq!(app.post_json(&at("link"), &json!({"aircraft_id": aircraft})).await.status, StatusCode::OK);
    let unknown = app.post_json(&at("link"), &json!({"aircraft_id": uuid::Uuid::new_v4()})).await;
    assert_eq!(unknown.problem_fields(), ["aircraft_id"]);
    assert_eq!(
        app.post_json(&at("link"), &json!({"aircraft_id": "RA-89101"})).await.problem_fields(),
        ["aircraft_id"]
    );
    assert_eq!(
        app.post_json(&at("process"), &json!({"note": "AD applied at C-check"})).await.status,
        StatusCode::OK
    );
    app.post_json(&at("reject"), &json!({"reason": "late"})).await.assert_problem(409);
    let archived = app.send_json("POST", &at("archive"), &json!({}), &[("If-Match", "\"4\"")]).await;
    assert_eq!((archived.status, archived.header("etag")), (StatusCode::OK, Some("\"5\"")));

    for (action, body) in [
        ("classify", json!({"document_type": "other"})),
        ("link", json!({"aircraft_id": aircraft})),
        ("process", json!({"note": "again"})),
        ("reject", json!({"reason": "again"})),
        ("archive", json!({})),
    ] {
        let reply = app.post_json(&at(action), &body).await;
        assert_eq!(reply.assert_problem(409)["type"], "urn:klg:problem:document-archived", "{action}");
    }
    let types: Vec<String> = app.events_of(&id).await.into_iter().map(|e| e.1).collect();
    assert_eq!(
        types,
        [
            "FileReceived",
            "DocumentClassified",
            "DocumentLinkedToAircraft",
            "DocumentProcessed",
            "DocumentArchived"
        ]
    );
}

#[actix_rt::test]
async fn documents_cannot_be_linked_to_decommissioned_aircraft_and_rejects_need_a_reason() {
    let app = spawn_app().await;
    let aircraft = app.register_aircraft("RA-89102").await;
    app.delete(&format!("/api/v1/aircraft/{aircraft}")).await;
    let id = app.upload_document().await;
    let linked =
        app.post_json(&format!("/api/inbox/files/{id}/link"), &json!({"aircraft_id": aircraft})).await;
    assert_eq!(linked.assert_problem(409)["type"], "urn:klg:problem:aircraft-decommissioned");
    let reject = format!("/api/inbox/files/{id}/reject");
    assert_eq!(app.post_json(&reject, &json!({"reason": "  "})).await.problem_fields(), ["reason"]);
    assert_eq!(
        app.post_json(&reject, &json!({"reason": "duplicate of AD-2024-04"})).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post_json(&format!("/api/inbox/files/{id}/archive"), &json!({})).await.status,
        StatusCode::OK
    );
    let missing = uuid::Uuid::new_v4();
    app.post_json(&format!("/api/inbox/files/{missing}/archive"), &json!({})).await.assert_problem(404);
    assert_eq!(app.events_of(&id).await.len(), 3);
}

#[actix_rt::test]
async fn a_repeated_upload_with_one_idempotency_key_creates_one_document() {
    let app = spawn_app().await;
    let body = klg_tests::multipart(&[Part::file("wo-17.pdf", "application/pdf", b"work order 17")]);
    let send = || async {
        let request = app
            .client
            .post(app.url("/api/inbox/files"))
            .insert_header(("content-type", multipart_content_type()))
            .insert_header(("Idempotency-Key", "upload-wo-17"));
        klg_tests::read(request.send_body(body.clone()).await.unwrap()).await
    };
    let first = send().await;
    let second = send().await;
    assert_eq!((first.status, second.status), (StatusCode::CREATED, StatusCode::CREATED));
    assert_eq!(first.body["id"], second.body["id"]);
    assert_eq!(app.event_count().await, 1);
}

/// Downloads answer byte ranges (a scan of hundreds of MB can resume): 206 with Content-Range,
/// 416 as a problem for a range past the end.
#[actix_rt::test]
async fn downloads_answer_byte_ranges() {
    let app = spawn_app().await;
    let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let reply = app.upload(&[Part::file("scan.tif", "image/tiff", &data)]).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    let id = reply.body["id"].as_str().unwrap();
    let position = reply.body["position"].as_i64().unwrap();
    let path = format!("/api/inbox/files/{id}/content?min_position={position}");
    let get = |range: &'static str| {
        let request = app.client.get(app.url(&path)).insert_header(("Range", range));
        async move {
            let mut response = request.send().await.unwrap();
            let body = response.body().limit(1 << 20).await.unwrap();
            (response.status(), response.headers().clone(), body)
        }
    };
    let (status, headers, body) = get("bytes=1000-1999").await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(headers.get("content-range").unwrap(), "bytes 1000-1999/100000");
    assert_eq!(&body[..], &data[1000..2000]);
    assert_eq!(headers.get("x-checksum-sha256").unwrap().to_str().unwrap(), sha256_hex(&data));
    let (status, _, body) = get("bytes=99990-").await;
    assert_eq!((status, &body[..]), (StatusCode::PARTIAL_CONTENT, &data[99990..]));
    let (status, headers, body) = get("bytes=200000-").await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(headers.get("content-range").unwrap(), "bytes */100000");
    assert_eq!(headers.get("content-type").unwrap(), "application/problem+json");
    assert!(String::from_utf8_lossy(&body).contains("range-not-satisfiable"));
    let whole = app.client.get(app.url(&path)).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers().get("accept-ranges").unwrap(), "bytes");

    // Conditional requests are judged against the content hash, the ETag KLG hands out.
    let tag = format!("\"{}\"", sha256_hex(&data));
    let conditional = |name: &'static str, value: String, range: Option<&'static str>| {
        let mut request = app.client.get(app.url(&path)).insert_header((name, value));
        if let Some(range) = range {
            request = request.insert_header(("Range", range));
        }
        async move {
            let mut response = request.send().await.unwrap();
            let body = response.body().limit(1 << 20).await.unwrap();
            (response.status(), response.headers().clone(), body)
        }
    };
    let (status, _, body) = conditional("If-Match", tag.clone(), None).await;
    assert_eq!((status, body.len()), (StatusCode::OK, data.len()));
    let (status, headers, _) = conditional("If-Match", "\"other\"".into(), None).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(headers.get("content-type").unwrap(), "application/problem+json");
    let (status, _, body) = conditional("If-None-Match", format!("W/{tag}"), None).await;
    assert_eq!((status, body.len()), (StatusCode::NOT_MODIFIED, 0));
    let (status, _, body) = conditional("If-Range", tag.clone(), Some("bytes=0-9")).await;
    assert_eq!((status, &body[..]), (StatusCode::PARTIAL_CONTENT, &data[..10]));
    let (status, _, body) = conditional("If-Range", "\"older\"".into(), Some("bytes=0-9")).await;
    assert_eq!((status, body.len()), (StatusCode::OK, data.len()), "If-Range for other content: all of it");
    let (status, _, body) = conditional("X-Unused", String::new(), Some("pages=1-2")).await;
    assert_eq!((status, body.len()), (StatusCode::OK, data.len()), "an unknown range unit is ignored");
}
