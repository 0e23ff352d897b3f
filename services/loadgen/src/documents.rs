//! The document archive: `--iterations` documents of `--megabytes` each uploaded by client
//! streaming in 1 MiB chunks (generated as they are sent: nothing holds the whole content),
//! then downloaded by server streaming, with the process's resident memory sampled all along
//! (server and client share the process: the peak bounds both). Beside it, raw PostgreSQL
//! writing and reading the same chunks into a bytea table in one transaction.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use hmis_proto::openhmis::documents::v1 as pb;
use pb::document_service_client::DocumentServiceClient;
use pb::download_document_response::Part as DownloadPart;
use pb::upload_document_request::Part as UploadPart;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::bench::{Bench, signed};

const CHUNK: usize = 1024 * 1024;

/// The process's resident memory now, in bytes (Linux).
fn resident() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Chunk `seq` of a document: a PDF's head, then bytes that vary (not compressible).
fn chunk(seq: usize) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(CHUNK);
    if seq == 0 {
        bytes.extend_from_slice(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    }
    let mut state = 0x9e37_79b9_u32 ^ (seq as u32).wrapping_mul(0x85eb_ca6b);
    while bytes.len() < CHUNK {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(CHUNK);
    bytes
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn mb_per_s(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1_048_576.0 / elapsed.as_secs_f64()
}

pub async fn run(megabytes: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[("archivist", "records")]).await?;
    let archivist = bench.login("archivist").await?;
    let facility = Uuid::new_v4().to_string();
    let client = DocumentServiceClient::new(bench.channel.clone())
        .max_decoding_message_size(4 * CHUNK)
        .max_encoding_message_size(4 * CHUNK);
    client
        .clone()
        .set_kind(signed(
            &bench.admin,
            pb::SetKindRequest {
                kind: Some(pb::Kind {
                    code: "SCAN".to_owned(),
                    name: "Scanned file".to_owned(),
                    retention_years: 10,
                    content_types: vec!["application/pdf".to_owned()],
                    max_size_bytes: i64::MAX,
                }),
            },
        ))
        .await
        .context("a kind of document")?;

    let peak = Arc::new(AtomicU64::new(0));
    let sampling = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while sampling.load(Ordering::Relaxed) {
                peak.fetch_max(resident(), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
    };
    let size = (megabytes * CHUNK) as u64;
    let baseline = resident();
    let (mut uploads, mut downloads) = (Vec::new(), Vec::new());
    for _ in 0..iterations.max(1) {
        let header = pb::UploadDocumentRequest {
            part: Some(UploadPart::Header(pb::UploadHeader {
                request_id: Uuid::new_v4().to_string(),
                kind_code: "SCAN".to_owned(),
                patient_id: Uuid::new_v4().to_string(),
                facility_id: facility.clone(),
                title: "Scanned archive".to_owned(),
                size_bytes: i64::try_from(size)?,
                ..Default::default()
            })),
        };
        let chunks = futures::stream::iter(0..megabytes).map(|seq| pb::UploadDocumentRequest {
            part: Some(UploadPart::Chunk(chunk(seq))),
        });
        let parts = futures::stream::once(async move { header }).chain(chunks);
        let started = Instant::now();
        let document = client
            .clone()
            .upload_document(signed(&archivist, parts))
            .await
            .context("an upload")?
            .into_inner()
            .document
            .context("the document")?;
        uploads.push(mb_per_s(size, started.elapsed()));
        let started = Instant::now();
        let mut stream = client
            .clone()
            .download_document(signed(
                &archivist,
                pb::DownloadDocumentRequest {
                    document_id: document.id.clone(),
                    version: 0,
                },
            ))
            .await?
            .into_inner();
        let mut received = 0u64;
        while let Some(message) = stream.next().await {
            if let Some(DownloadPart::Chunk(bytes)) = message?.part {
                received += bytes.len() as u64;
            }
        }
        anyhow::ensure!(received == size, "downloaded {received} of {size} bytes");
        downloads.push(mb_per_s(size, started.elapsed()));
    }
    sampling.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let peak = peak.load(Ordering::Relaxed);

    // Raw PostgreSQL: the same chunks into a bytea table, one transaction a document.
    let mut raw = PgConnection::connect_with(&bench.db.owner_options()).await?;
    sqlx::raw_sql(
        "CREATE TABLE raw_chunks (id uuid, seq int, bytes bytea, PRIMARY KEY (id, seq)); \
         ALTER TABLE raw_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL",
    )
    .execute(&mut raw)
    .await?;
    let (mut raw_writes, mut raw_reads) = (Vec::new(), Vec::new());
    for _ in 0..iterations.max(1) {
        let id = Uuid::new_v4();
        let started = Instant::now();
        let mut tx = raw.begin().await?;
        for seq in 0..megabytes {
            sqlx::query("INSERT INTO raw_chunks (id, seq, bytes) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(i32::try_from(seq)?)
                .bind(chunk(seq))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        raw_writes.push(mb_per_s(size, started.elapsed()));
        let started = Instant::now();
        let mut tx = raw.begin().await?;
        let mut received = 0u64;
        for seq in 0..megabytes {
            let bytes: Vec<u8> =
                sqlx::query_scalar("SELECT bytes FROM raw_chunks WHERE id = $1 AND seq = $2")
                    .bind(id)
                    .bind(i32::try_from(seq)?)
                    .fetch_one(&mut *tx)
                    .await?;
            received += bytes.len() as u64;
        }
        tx.commit().await?;
        anyhow::ensure!(received == size, "raw read {received} of {size} bytes");
        raw_reads.push(mb_per_s(size, started.elapsed()));
    }
    println!(
        "documents: {} uploads and downloads of {megabytes} MiB in 1 MiB chunks (medians)",
        uploads.len()
    );
    println!(
        "  upload   {:>8.1} MB/s   raw PostgreSQL insert {:>8.1} MB/s",
        median(&mut uploads),
        median(&mut raw_writes)
    );
    println!(
        "  download {:>8.1} MB/s   raw PostgreSQL select {:>8.1} MB/s",
        median(&mut downloads),
        median(&mut raw_reads)
    );
    println!(
        "  resident memory: {:.0} MiB before, at most {:.0} MiB during (server and client in one process)",
        baseline as f64 / 1_048_576.0,
        peak as f64 / 1_048_576.0
    );
    bench.stop().await
}
