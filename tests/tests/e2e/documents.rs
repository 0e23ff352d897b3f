//! The document archive over real gRPC: content streamed in by client streaming (a header,
//! then chunks) and back by server streaming, its type recognised from its bytes and its
//! SHA-256 kept, a retry answered once, a replacement that keeps the earlier version, the
//! ward's scope on reads, an upload cut off mid-way that leaves nothing, legal holds and
//! deletion only at the end of retention (enforced by the database), and the verify command
//! finding an altered byte and a missing chunk.

use crate::support;

use std::sync::Arc;

use futures::StreamExt;
use hmis_documents::{ContentStore, DocumentsModule, DocumentsOptions};
use hmis_platform::auth::Scope;
use hmis_platform::clock::SystemClock;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::documents::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use pb::document_service_client::DocumentServiceClient;
use pb::download_document_response::Part as DownloadPart;
use pb::upload_document_request::Part as UploadPart;
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, WardSpec, eventually, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

fn documents(app: &TestApp) -> DocumentServiceClient<Channel> {
    DocumentServiceClient::new(app.channel.clone())
}

/// A PDF-looking content of `size` bytes (its head is a PDF's; the rest varies).
fn pdf(size: usize) -> Vec<u8> {
    let mut content = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n".to_vec();
    let mut state = 0x2545_f491_u32;
    while content.len() < size {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        content.push(state as u8);
    }
    content.truncate(size);
    content
}

fn png() -> Vec<u8> {
    let mut content = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0".to_vec();
    content.extend_from_slice(&[7u8; 1000]);
    content
}

fn sha256(content: &[u8]) -> String {
    hex::encode(Sha256::digest(content))
}

fn header_part(header: pb::UploadHeader) -> pb::UploadDocumentRequest {
    pb::UploadDocumentRequest {
        part: Some(UploadPart::Header(header)),
    }
}

fn chunk_parts(content: &[u8], size: usize) -> Vec<pb::UploadDocumentRequest> {
    content
        .chunks(size)
        .map(|chunk| pb::UploadDocumentRequest {
            part: Some(UploadPart::Chunk(chunk.to_vec())),
        })
        .collect()
}

/// Streams `content` under `header`, declaring its size unless the header declares a size or
/// a hash of its own.
async fn upload(
    app: &TestApp,
    session: &Session,
    mut header: pb::UploadHeader,
    content: &[u8],
) -> Result<pb::Document, tonic::Status> {
    if header.sha256.is_empty() && header.size_bytes == 0 {
        header.size_bytes = content.len() as i64;
    }
    let mut parts = vec![header_part(header)];
    parts.extend(chunk_parts(content, 64 * 1024));
    documents(app)
        .upload_document(signed_in(session, futures::stream::iter(parts)))
        .await
        .map(|answer| answer.into_inner().document.expect("the document"))
}

async fn download(
    app: &TestApp,
    session: &Session,
    document_id: &str,
    version: i32,
) -> Result<(pb::DownloadHeader, Vec<u8>), tonic::Status> {
    let mut stream = documents(app)
        .download_document(signed_in(
            session,
            pb::DownloadDocumentRequest {
                document_id: document_id.to_owned(),
                version,
            },
        ))
        .await?
        .into_inner();
    let mut header = None;
    let mut content = Vec::new();
    while let Some(message) = stream.next().await {
        match message?.part {
            Some(DownloadPart::Header(first)) => header = Some(first),
            Some(DownloadPart::Chunk(bytes)) => content.extend_from_slice(&bytes),
            None => {}
        }
    }
    Ok((header.expect("a header first"), content))
}

struct Archive {
    app: TestApp,
    admin: Session,
    nurse: Session,
    other_nurse: Session,
    records: Session,
    facility_id: String,
    ward_id: String,
}

impl Archive {
    async fn open() -> Self {
        Self::open_with(openhmis_server::Options::default()).await
    }

    async fn open_with(options: openhmis_server::Options) -> Self {
        let app = TestApp::spawn_with(options).await;
        let admin = app.create_tenant("DOC").await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let ward = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("INT", "Internal medicine").beds("R1", "Room 1", 1),
            )
            .await;
        let other = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("SUR", "Surgery").beds("R1", "Room 1", 1),
            )
            .await;
        let in_ward = |id: &str| Scope::Department(id.parse().expect("ward id"));
        let nurse = app
            .staff(&admin, "DOC", "nurse", "nurse", in_ward(&ward.id))
            .await;
        let other_nurse = app
            .staff(&admin, "DOC", "surgical_nurse", "nurse", in_ward(&other.id))
            .await;
        let records = app
            .staff(&admin, "DOC", "records", "records", Scope::Tenant)
            .await;
        documents(&app)
            .set_kind(signed_in(
                &admin,
                pb::SetKindRequest {
                    kind: Some(pb::Kind {
                        code: "CONSENT".to_owned(),
                        name: "Consent form".to_owned(),
                        retention_years: 1,
                        content_types: vec!["application/pdf".to_owned(), "image/png".to_owned()],
                        max_size_bytes: 8 * 1024 * 1024,
                    }),
                },
            ))
            .await
            .expect("a kind");
        Self {
            app,
            admin,
            nurse,
            other_nurse,
            records,
            facility_id: facility.id,
            ward_id: ward.id,
        }
    }

    fn header(&self, patient_id: &str) -> pb::UploadHeader {
        pb::UploadHeader {
            request_id: request_id(),
            kind_code: "CONSENT".to_owned(),
            patient_id: patient_id.to_owned(),
            facility_id: self.facility_id.clone(),
            department_id: self.ward_id.clone(),
            title: "Consent to surgery".to_owned(),
            file_name: "consent.pdf".to_owned(),
            ..Default::default()
        }
    }

    /// A new version of `document_id`, by the ward's nurse: the signed consent's picture.
    async fn replace(
        &self,
        document_id: &str,
        picture: &[u8],
    ) -> Result<pb::Document, tonic::Status> {
        let header = pb::UploadHeader {
            request_id: request_id(),
            replaces_document_id: document_id.to_owned(),
            file_name: "consent-signed.png".to_owned(),
            ..Default::default()
        };
        upload(&self.app, &self.nurse, header, picture).await
    }

    async fn owner(&self) -> PgConnection {
        PgConnection::connect_with(&self.app.db.owner_options())
            .await
            .expect("owner connection")
    }
}

#[tokio::test]
async fn documents_stream_in_and_out_keep_their_versions_and_are_verified() {
    let archive = Archive::open().await;
    let app = &archive.app;
    let patient = uuid::Uuid::new_v4().to_string();
    let content = pdf(3 * 1024 * 1024 + 17);

    // Stored whole, with the hash the client computed; a retry answers as the first call.
    let header = pb::UploadHeader {
        content_type: "application/pdf".to_owned(),
        sha256: sha256(&content),
        ..archive.header(&patient)
    };
    let stored = upload(app, &archive.nurse, header.clone(), &content)
        .await
        .expect("stored");
    let first = &stored.versions[0];
    assert_eq!(
        (first.number, first.content_type.as_str(), first.size_bytes),
        (1, "application/pdf", content.len() as i64)
    );
    assert_eq!(first.sha256, sha256(&content));
    let again = upload(app, &archive.nurse, header, &content)
        .await
        .expect("a retry");
    assert_eq!(again.id, stored.id, "one document for one request id");

    // Streamed back whole, by the ward's nurse; not by another ward's.
    let (sent, bytes) = download(app, &archive.nurse, &stored.id, 0)
        .await
        .expect("downloaded");
    assert_eq!(sent.version.expect("version").number, 1);
    assert!(bytes == content, "the content comes back byte for byte");
    let denied = download(app, &archive.other_nurse, &stored.id, 0)
        .await
        .expect_err("another ward's patient");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let refused = upload(
        app,
        &archive.other_nurse,
        archive.header(&patient),
        &content[..4096],
    )
    .await
    .expect_err("another ward's nurse adds nothing to this ward's patient");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let mut auditor = archive.owner().await;
    let refusals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records WHERE method LIKE '%/UploadDocument' \
         AND outcome <> 'OK' AND $1 = ANY(patient_ids)",
    )
    .bind(uuid::Uuid::parse_str(&patient).expect("patient id"))
    .fetch_one(&mut auditor)
    .await
    .expect("counted");
    assert_eq!(refusals, 1, "the refused upload is on record");

    // A replacement is a new version; the earlier one stays readable.
    let picture = png();
    let replaced = archive
        .replace(&stored.id, &picture)
        .await
        .expect("replaced");
    assert_eq!(replaced.versions.len(), 2);
    assert_eq!(replaced.versions[1].content_type, "image/png");
    let (_, earlier) = download(app, &archive.nurse, &stored.id, 1)
        .await
        .expect("version 1");
    assert!(earlier == content);
    let (_, current) = download(app, &archive.nurse, &stored.id, 0)
        .await
        .expect("current");
    assert_eq!(current, picture);

    // In one message, as a browser sends it; a retry is the same document.
    let store = |header: pb::UploadHeader, content: Vec<u8>| {
        let mut client = documents(app);
        let request = signed_in(
            &archive.nurse,
            pb::StoreDocumentRequest {
                header: Some(header),
                content,
            },
        );
        async move { client.store_document(request).await }
    };
    let photo_header = pb::UploadHeader {
        title: "Signed consent (photographed)".to_owned(),
        ..archive.header(&patient)
    };
    let photo = store(photo_header.clone(), picture.clone())
        .await
        .expect("stored in one message")
        .into_inner()
        .document
        .expect("document");
    let photo_again = store(photo_header, picture.clone())
        .await
        .expect("a retry")
        .into_inner()
        .document
        .expect("document");
    assert_eq!(photo.id, photo_again.id);
    let oversized = store(archive.header(&patient), pdf(8 * 1024 * 1024 + 1))
        .await
        .expect_err("over 8 MiB in one message");
    assert_eq!(violated_fields(&oversized), ["content"]);

    // Refused content: its type from the bytes, the declared type, the size, the order.
    let executable = b"MZ\x90\0\x03\0\0\0 not a document".repeat(10);
    let refused = upload(app, &archive.nurse, archive.header(&patient), &executable)
        .await
        .expect_err("an executable");
    assert_eq!(violated_fields(&refused), ["chunk"]);
    let disagreeing = upload(
        app,
        &archive.nurse,
        pb::UploadHeader {
            content_type: "image/png".to_owned(),
            ..archive.header(&patient)
        },
        &content,
    )
    .await
    .expect_err("a PDF said to be a PNG");
    assert_eq!(violated_fields(&disagreeing), ["header.content_type"]);
    let too_large = upload(
        app,
        &archive.nurse,
        archive.header(&patient),
        &pdf(9 * 1024 * 1024),
    )
    .await
    .expect_err("over the kind's limit");
    assert_eq!(violated_fields(&too_large), ["chunk"]);
    let headless = documents(app)
        .upload_document(signed_in(
            &archive.nurse,
            futures::stream::iter(chunk_parts(&content[..1000], 500)),
        ))
        .await
        .expect_err("chunks without a header");
    assert_eq!(violated_fields(&headless), ["header"]);
    // A stream's end alone does not make a content whole: its size (or hash) is declared,
    // and content that ends short of it is refused.
    let undeclared = documents(app)
        .upload_document(signed_in(
            &archive.nurse,
            futures::stream::iter(
                std::iter::once(header_part(archive.header(&patient)))
                    .chain(chunk_parts(&content[..100_000], 50_000)),
            ),
        ))
        .await
        .expect_err("neither size nor hash declared");
    assert_eq!(violated_fields(&undeclared), ["header.size_bytes"]);
    let short = upload(
        app,
        &archive.nurse,
        pb::UploadHeader {
            size_bytes: content.len() as i64,
            ..archive.header(&patient)
        },
        &content[..content.len() / 2],
    )
    .await
    .expect_err("half the declared content");
    assert_eq!(violated_fields(&short), ["header.size_bytes"]);
    let listed = documents(app)
        .list_patient_documents(signed_in(
            &archive.nurse,
            pb::ListPatientDocumentsRequest {
                patient_id: patient.clone(),
            },
        ))
        .await
        .expect("listed")
        .into_inner()
        .documents;
    assert_eq!(listed.len(), 2, "no refused upload left a document");

    // An upload cut off mid-way leaves nothing behind.
    let (cut, cut_off) = tokio::sync::oneshot::channel::<()>();
    let parts = futures::stream::iter(
        std::iter::once(header_part(pb::UploadHeader {
            size_bytes: 512 * 1024,
            ..archive.header(&patient)
        }))
        .chain(chunk_parts(&pdf(256 * 1024), 64 * 1024)),
    )
    .chain(futures::stream::once(async move {
        let _ = cut_off.await;
        header_part(pb::UploadHeader::default())
    }))
    .boxed();
    let mut client = documents(app);
    let request = signed_in(&archive.nurse, parts);
    let mut owner = archive.owner().await;
    let database = app.db.name().to_owned();
    {
        // The call is driven until the server is writing its chunks, then dropped: the
        // client goes away mid-upload.
        let call = client.upload_document(request);
        tokio::pin!(call);
        let under_way = eventually("the upload is under way", || {
            let database = database.clone();
            let options = app.db.owner_options();
            async move {
                let mut watcher = PgConnection::connect_with(&options).await.ok()?;
                let writing: i64 = sqlx::query_scalar(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
                     AND state = 'idle in transaction' \
                     AND query LIKE 'INSERT INTO documents.chunks%'",
                )
                .bind(&database)
                .fetch_one(&mut watcher)
                .await
                .ok()?;
                (writing > 0).then_some(())
            }
        });
        tokio::select! {
            answer = &mut call => panic!("the upload cannot end, its stream waits: {answer:?}"),
            () = under_way => {}
        }
    }
    drop(cut);
    eventually("the cut-off upload's transaction ends", || {
        let database = database.clone();
        let options = app.db.owner_options();
        async move {
            let mut watcher = PgConnection::connect_with(&options).await.ok()?;
            let open: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = $1 \
                 AND state LIKE 'idle in transaction%'",
            )
            .bind(&database)
            .fetch_one(&mut watcher)
            .await
            .ok()?;
            (open == 0).then_some(())
        }
    })
    .await;
    let (documents_kept, chunks_kept): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM documents.documents), \
                (SELECT count(*) FROM documents.chunks)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("counted");
    let expected_chunks = (content.len().div_ceil(64 * 1024) + 1) as i64;
    assert_eq!((documents_kept, chunks_kept), (2, expected_chunks + 1));

    // The verify command: intact, then an altered byte and a missing chunk are named.
    let module = DocumentsModule::new(
        app.db.database.clone(),
        Arc::new(SystemClock),
        DocumentsOptions {
            signing_secret: Some(hmis_platform::config::Secret::new(
                support::SIGNING_KEY_SECRET,
            )),
            ..DocumentsOptions::default()
        },
        ContentStore::Database,
        None,
    );
    let report = module.verify().await.expect("verified");
    assert_eq!((report.verified, report.findings.len()), (3, 0));
    let refused = sqlx::query("UPDATE documents.chunks SET bytes = 'x' WHERE seq = 3")
        .execute(&mut owner)
        .await
        .expect_err("content is never changed");
    assert!(refused.to_string().contains("never changed"), "{refused}");
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut owner)
        .await
        .expect("bypass the triggers");
    sqlx::query(
        "UPDATE documents.chunks SET bytes = set_byte(bytes, 10, get_byte(bytes, 10) # 1) \
         WHERE version = 1 AND seq = 3 AND document_id = $1",
    )
    .bind(uuid::Uuid::parse_str(&stored.id).expect("id"))
    .execute(&mut owner)
    .await
    .expect("a byte altered");
    sqlx::query("DELETE FROM documents.chunks WHERE version = 2 AND document_id = $1")
        .bind(uuid::Uuid::parse_str(&stored.id).expect("id"))
        .execute(&mut owner)
        .await
        .expect("a chunk removed");
    let report = module.verify().await.expect("verified");
    let problems: Vec<(i32, &str)> = report
        .findings
        .iter()
        .map(|finding| (finding.version, finding.problem))
        .collect();
    assert_eq!(problems, [(1, "altered"), (2, "missing")]);
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.document_id.to_string() == stored.id)
    );
}

#[tokio::test]
async fn a_document_is_deleted_only_at_the_end_of_its_retention_and_never_under_hold() {
    let archive = Archive::open().await;
    let app = &archive.app;
    let patient = uuid::Uuid::new_v4().to_string();
    let stored = upload(app, &archive.nurse, archive.header(&patient), &pdf(10_000))
        .await
        .expect("stored");
    let today = chrono::Utc::now().date_naive();
    assert_eq!(
        stored.retain_until,
        (today + chrono::Months::new(12)).to_string(),
        "the kind's one year"
    );
    let delete = |session: &Session| {
        let mut client = documents(app);
        let request = signed_in(
            session,
            pb::DeleteDocumentRequest {
                request_id: request_id(),
                document_id: stored.id.clone(),
                reason: "retention ended".to_owned(),
            },
        );
        async move { client.delete_document(request).await }
    };
    let early = delete(&archive.records).await.expect_err("kept a year");
    assert_eq!(early.code(), Code::FailedPrecondition);
    let nurse = delete(&archive.nurse)
        .await
        .expect_err("a nurse does not delete");
    assert_eq!(nurse.code(), Code::PermissionDenied);

    // Not even the database's owner marks it deleted before its time.
    let mut owner = archive.owner().await;
    let refused = sqlx::query("UPDATE documents.documents SET deleted_at = now()")
        .execute(&mut owner)
        .await
        .expect_err("before the end of retention");
    assert!(
        refused.to_string().contains("documents_deleted_when_due"),
        "{refused}"
    );
    // A year on (the retention moved back, as the clock would).
    sqlx::query("UPDATE documents.documents SET retain_until = current_date - 1")
        .execute(&mut owner)
        .await
        .expect("retention ended");

    let held = documents(app)
        .set_legal_hold(signed_in(
            &archive.records,
            pb::SetLegalHoldRequest {
                request_id: request_id(),
                document_id: stored.id.clone(),
                hold: true,
                reason: "court order 12/2026".to_owned(),
            },
        ))
        .await
        .expect("held")
        .into_inner()
        .document
        .expect("document");
    assert!(held.legal_hold);
    let under_hold = delete(&archive.records).await.expect_err("on hold");
    assert_eq!(under_hold.code(), Code::FailedPrecondition);
    documents(app)
        .set_legal_hold(signed_in(
            &archive.records,
            pb::SetLegalHoldRequest {
                request_id: request_id(),
                document_id: stored.id.clone(),
                hold: false,
                reason: "case closed".to_owned(),
            },
        ))
        .await
        .expect("released");
    let deleted = delete(&archive.records)
        .await
        .expect("deleted")
        .into_inner()
        .document
        .expect("document");
    assert!(deleted.deleted && !deleted.deleted_by.is_empty());
    assert_eq!(deleted.delete_reason, "retention ended");
    assert_eq!(deleted.versions.len(), 1, "the record of what it was stays");
    let gone = download(app, &archive.nurse, &stored.id, 0)
        .await
        .expect_err("its content is gone");
    assert_eq!(gone.code(), Code::FailedPrecondition);
    let chunks: i64 = sqlx::query_scalar("SELECT count(*) FROM documents.chunks")
        .fetch_one(&mut owner)
        .await
        .expect("counted");
    assert_eq!(chunks, 0);
    let _ = &archive.admin;
}

/// Every object of the store, by key.
async fn objects_of(store: &dyn ObjectStore) -> Vec<String> {
    let mut keys: Vec<String> = store
        .list(None)
        .map(|meta| meta.expect("listed").location.to_string())
        .collect()
        .await;
    keys.sort();
    keys
}

#[tokio::test]
async fn content_kept_in_a_directory_streams_verifies_and_goes_with_its_document() {
    let directory = std::env::temp_dir().join(format!("openhmis-objects-{}", uuid::Uuid::new_v4()));
    let mut options = openhmis_server::Options::default();
    options.documents.content_store = Some(format!("file://{}", directory.display()));
    content_kept_in_an_object_store(options).await;
    std::fs::remove_dir_all(&directory).expect("cleaned up");
}

/// An S3-compatible store: moto's server (`pip install "moto[server]"`), on a port of its own.
#[tokio::test]
async fn content_kept_in_an_s3_bucket_streams_verifies_and_goes_with_its_document() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let mut server = tokio::process::Command::new("moto_server")
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("moto_server (pip install \"moto[server]\") runs");
    let endpoint = format!("http://127.0.0.1:{port}");
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    eventually("the S3 server makes the bucket", || {
        let client = client.clone();
        let request = http::Request::put(format!("{endpoint}/archive"))
            .body(http_body_util::Empty::new())
            .expect("a request");
        async move {
            let answer = client.request(request).await.ok()?;
            answer.status().is_success().then_some(())
        }
    })
    .await;
    let mut options = openhmis_server::Options::default();
    options.documents.content_store = Some("s3://archive/openhmis".to_owned());
    options.documents.content_store_options = [
        ("endpoint", endpoint.as_str()),
        ("allow_http", "true"),
        ("region", "us-east-1"),
        // moto's test credentials; a deployment's come from AWS_* in its environment.
        ("access_key_id", "testing"),
        ("secret_access_key", "testing"),
    ]
    .into_iter()
    .map(|(key, value)| (key.to_owned(), value.to_owned()))
    .collect();
    content_kept_in_an_object_store(options).await;
    server.kill().await.expect("stopped");
}

async fn content_kept_in_an_object_store(options: openhmis_server::Options) {
    let ContentStore::Objects(objects) = ContentStore::open(&options.documents).expect("the store")
    else {
        panic!("an object store is configured");
    };
    let objects = objects.as_ref();
    let archive = Archive::open_with(options.clone()).await;
    let app = &archive.app;
    let patient = uuid::Uuid::new_v4().to_string();
    let content = pdf(7 * 1024 * 1024 + 17);
    let read = |key: String| async move {
        objects
            .get(&ObjectPath::from(key.as_str()))
            .await
            .expect("the object")
            .bytes()
            .await
            .expect("its bytes")
            .to_vec()
    };

    // Stored as one object (no chunk in the database), streamed back byte for byte.
    let stored = upload(app, &archive.nurse, archive.header(&patient), &content)
        .await
        .expect("stored");
    let keys = objects_of(objects).await;
    assert_eq!(keys.len(), 1, "one object: {keys:?}");
    assert!(
        read(keys[0].clone()).await == content,
        "the object is the content"
    );
    let mut owner = archive.owner().await;
    let (chunks, key): (i64, Option<String>) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM documents.chunks), \
                (SELECT object_key FROM documents.versions)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("counted");
    assert_eq!(chunks, 0, "the content is not in the database");
    let key = key.expect("the version names its object");
    assert!(
        key.starts_with(&format!(
            "{}/{}/1.",
            archive.admin.tenant_id.as_uuid(),
            stored.id
        )),
        "{key}"
    );
    assert_eq!(keys[0], key);
    let (_, bytes) = download(app, &archive.nurse, &stored.id, 0)
        .await
        .expect("downloaded");
    assert!(bytes == content, "the content comes back byte for byte");

    // A replacement is a second object; the first version stays readable.
    let picture = png();
    archive
        .replace(&stored.id, &picture)
        .await
        .expect("replaced");
    assert_eq!(objects_of(objects).await.len(), 2);
    let (_, earlier) = download(app, &archive.nurse, &stored.id, 1)
        .await
        .expect("version 1");
    assert!(earlier == content);

    // Refused content (over the kind's limit, found once parts were sent) leaves nothing.
    let too_large = upload(
        app,
        &archive.nurse,
        archive.header(&patient),
        &pdf(9 * 1024 * 1024),
    )
    .await
    .expect_err("over the kind's limit");
    assert_eq!(violated_fields(&too_large), ["chunk"]);
    let executable = b"MZ\x90\0\x03\0\0\0 not a document".repeat(10);
    upload(app, &archive.nurse, archive.header(&patient), &executable)
        .await
        .expect_err("an executable");
    assert_eq!(objects_of(objects).await.len(), 2, "nothing left behind");

    // The verify command reads the objects: intact; then altered, stray and missing ones.
    let module = DocumentsModule::new(
        app.db.database.clone(),
        Arc::new(SystemClock),
        options.documents.clone(),
        ContentStore::open(&options.documents).expect("the store"),
        None,
    );
    let report = module.verify().await.expect("verified");
    assert_eq!((report.verified, report.findings.len()), (2, 0));
    let mut altered = read(key.clone()).await;
    altered[5 * 1024 * 1024] ^= 1;
    objects
        .put(&ObjectPath::from(key.as_str()), altered.into())
        .await
        .expect("a byte altered");
    let stray_document = uuid::Uuid::new_v4().to_string();
    let stray = format!(
        "{}/{stray_document}/1.{}",
        archive.admin.tenant_id.as_uuid(),
        uuid::Uuid::new_v4()
    );
    objects
        .put(
            &ObjectPath::from(stray.as_str()),
            b"left by a crash".to_vec().into(),
        )
        .await
        .expect("a stray object");
    let report = module.verify().await.expect("verified");
    let mut found: Vec<(String, i32, &str)> = report
        .findings
        .iter()
        .map(|finding| {
            (
                finding.document_id.to_string(),
                finding.version,
                finding.problem,
            )
        })
        .collect();
    found.sort();
    let mut expected = vec![
        (stored.id.clone(), 1, "altered"),
        (stray_document, 1, "unreferenced"),
    ];
    expected.sort();
    assert_eq!(found, expected);
    objects
        .delete(&ObjectPath::from(key.as_str()))
        .await
        .expect("removed");
    let report = module.verify().await.expect("verified");
    assert!(
        report
            .findings
            .iter()
            .any(|finding| finding.version == 1 && finding.problem == "missing"),
        "{:?}",
        report.findings
    );
    let missing = download(app, &archive.nurse, &stored.id, 1)
        .await
        .expect_err("its object is gone");
    assert_eq!(missing.code(), Code::FailedPrecondition);
    objects
        .put(&ObjectPath::from(key.as_str()), content.clone().into())
        .await
        .expect("restored from a backup");

    // Deleted at the end of its retention: its objects go with it.
    sqlx::query("UPDATE documents.documents SET retain_until = current_date - 1")
        .execute(&mut owner)
        .await
        .expect("retention ended");
    documents(app)
        .delete_document(signed_in(
            &archive.records,
            pb::DeleteDocumentRequest {
                request_id: request_id(),
                document_id: stored.id.clone(),
                reason: "retention ended".to_owned(),
            },
        ))
        .await
        .expect("deleted");
    assert_eq!(
        objects_of(objects).await,
        [stray],
        "only the stray object stays"
    );
}

#[tokio::test]
async fn the_registry_photo_and_an_admission_consents_follow_the_archive() {
    let app = TestApp::spawn().await;
    let admin = app.coded_tenant("LNK").await;
    let facility = app.create_facility(&admin, "MAIN").await;
    let ward = app
        .open_ward(
            &admin,
            &facility.id,
            WardSpec::ward("INT", "Internal medicine").beds("R1", "Room 1", 1),
        )
        .await;
    let facility_uuid = facility.id.parse().expect("facility id");
    let desk = app
        .staff(
            &admin,
            "LNK",
            "desk",
            "registrar",
            Scope::Facility(facility_uuid),
        )
        .await;
    let doctor = app
        .staff(
            &admin,
            "LNK",
            "doctor",
            "physician",
            Scope::Facility(facility_uuid),
        )
        .await;
    let records = app
        .staff(&admin, "LNK", "records", "records", Scope::Tenant)
        .await;
    for (code, types) in [("PHOTO", "image/png"), ("CONSENT", "application/pdf")] {
        documents(&app)
            .set_kind(signed_in(
                &admin,
                pb::SetKindRequest {
                    kind: Some(pb::Kind {
                        code: code.to_owned(),
                        name: code.to_owned(),
                        retention_years: 1,
                        content_types: vec![types.to_owned()],
                        max_size_bytes: 1024 * 1024,
                    }),
                },
            ))
            .await
            .expect("a kind");
    }
    let encounter = app
        .admitted((&desk, &doctor), (&ward.id, &ward.beds[0]), "Lincu")
        .await;
    let (patient_id, admission_id) = (encounter.patient_id.clone(), encounter.admission_id.clone());
    let file = |kind: &str, title: &str| pb::UploadHeader {
        request_id: request_id(),
        kind_code: kind.to_owned(),
        patient_id: patient_id.clone(),
        facility_id: facility.id.clone(),
        department_id: ward.id.clone(),
        admission_id: admission_id.clone(),
        title: title.to_owned(),
        ..Default::default()
    };
    let photo_of = || {
        let mut patients =
            patients_pb::patient_service_client::PatientServiceClient::new(app.channel.clone());
        let request = signed_in(
            &desk,
            patients_pb::GetPatientRequest {
                id: patient_id.clone(),
            },
        );
        async move {
            patients
                .get_patient(request)
                .await
                .expect("the patient")
                .into_inner()
                .patient
                .expect("patient")
                .photo_ref
        }
    };
    let consents_of = || {
        let mut admissions = admissions_pb::admission_service_client::AdmissionServiceClient::new(
            app.channel.clone(),
        );
        let request = signed_in(
            &desk,
            admissions_pb::GetAdmissionRequest {
                id: admission_id.clone(),
            },
        );
        async move {
            admissions
                .get_admission(request)
                .await
                .expect("the admission")
                .into_inner()
                .admission
                .expect("admission")
                .consent_document_ids
        }
    };

    // The photo taken at the desk is the record's photo; a newer one takes its place.
    let first = upload(&app, &desk, file("PHOTO", "Photo"), &png())
        .await
        .expect("a photo");
    eventually("the registry shows the photo", || async {
        (photo_of().await == first.id).then_some(())
    })
    .await;
    let newer = upload(&app, &desk, file("PHOTO", "Photo, renewed"), &png())
        .await
        .expect("a newer photo");
    eventually("the registry shows the newer photo", || async {
        (photo_of().await == newer.id).then_some(())
    })
    .await;

    // The consent scanned for the admission is linked to it; so is a second one.
    let consent = upload(
        &app,
        &desk,
        file("CONSENT", "Consent to treatment"),
        &pdf(5000),
    )
    .await
    .expect("a consent");
    let transfusion = upload(
        &app,
        &desk,
        file("CONSENT", "Consent to transfusion"),
        &pdf(6000),
    )
    .await
    .expect("a consent");
    let linked = eventually("the admission links both consents", || async {
        let ids = consents_of().await;
        (ids.len() == 2).then_some(ids)
    })
    .await;
    assert_eq!(linked, [consent.id.clone(), transfusion.id.clone()]);

    // Deleted at the end of their retention: the photo leaves the record, the consent the
    // admission; the other consent stays.
    let mut owner = PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner connection");
    sqlx::query("UPDATE documents.documents SET retain_until = current_date - 1")
        .execute(&mut owner)
        .await
        .expect("retention ended");
    for id in [&newer.id, &consent.id] {
        documents(&app)
            .delete_document(signed_in(
                &records,
                pb::DeleteDocumentRequest {
                    request_id: request_id(),
                    document_id: id.clone(),
                    reason: "retention ended".to_owned(),
                },
            ))
            .await
            .expect("deleted");
    }
    eventually("the photo leaves the record", || async {
        photo_of().await.is_empty().then_some(())
    })
    .await;
    eventually("the deleted consent leaves the admission", || async {
        (consents_of().await == [transfusion.id.clone()]).then_some(())
    })
    .await;
}
