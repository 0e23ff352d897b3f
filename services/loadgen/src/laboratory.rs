//! The laboratory's analyser link: received specimens seeded straight into the laboratory
//! schema (one order of potassium, sodium and glucose each), then analysers sending ORU^R01
//! over MLLP, one specimen's three results a message, each answered with its ACK once stored
//! (flagged against the ranges, the message logged and audited, the order's status kept).
//! Measured closed-loop from `--clients` connections (what the link sustains) and paced at
//! 200 messages a second (the ACK latency an analyser sees at that rate), beside raw
//! PostgreSQL doing the same writes in one transaction per message.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hmis_platform::RequestContext;
use hmis_proto::openhmis::laboratory::v1 as pb;
use pb::laboratory_service_client::LaboratoryServiceClient;
use sqlx::postgres::PgPoolOptions;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::bench::{Bench, signed};
use crate::report::{Sample, measure_concurrent, print};

/// The paced run's rate, messages a second (the issue's goal).
const PACE: u64 = 200;

fn accession(n: usize) -> String {
    format!("99{n:09}")
}

fn oru(n: usize) -> String {
    format!(
        "MSH|^~\\&|BENCH|LAB|OPENHMIS|HOSP|20261206101500||ORU^R01|M{n}|P|2.5\rPID|1\r\
         OBR|1||{}|PANEL^Panel^L\r\
         OBX|1|NM|2823-3^Potassium^LN||{}.{}|mmol/L|||||F\r\
         OBX|2|NM|2951-2^Sodium^LN||140|mmol/L|||||F\r\
         OBX|3|NM|2345-7^Glucose^LN||5.1|mmol/L|||||F\r",
        accession(n),
        3 + n % 4,
        n % 10
    )
}

/// One analyser's connection: sends a framed message, reads the framed ACK.
struct Link(TcpStream);

impl Link {
    async fn exchange(&mut self, message: &str) -> anyhow::Result<()> {
        let mut framed = Vec::with_capacity(message.len() + 3);
        framed.push(0x0b);
        framed.extend_from_slice(message.as_bytes());
        framed.extend_from_slice(&[0x1c, 0x0d]);
        self.0.write_all(&framed).await?;
        let mut answer = Vec::with_capacity(256);
        loop {
            answer.push(self.0.read_u8().await?);
            if answer.ends_with(&[0x1c, 0x0d]) {
                break;
            }
        }
        let text = String::from_utf8_lossy(&answer);
        anyhow::ensure!(text.contains("\rMSA|AA|"), "not accepted: {text}");
        Ok(())
    }
}

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[]).await?;
    let tenant = bench.tenant_id;
    let module = bench.laboratory.clone();
    module
        .load_starter(&RequestContext::system(tenant))
        .await
        .context("starter catalogue")?;
    let listener = module
        .bind_mllp(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await?;
    let addr = listener.local_addr()?;
    tokio::spawn(listener.serve());
    let facility = bench.facility().await?;
    LaboratoryServiceClient::new(bench.channel.clone())
        .register_analyser(signed(
            &bench.admin,
            pb::RegisterAnalyserRequest {
                request_id: Uuid::new_v4().to_string(),
                analyser: Some(pb::Analyser {
                    code: "BENCH-1".to_owned(),
                    name: "Bench analyser".to_owned(),
                    sending_application: "BENCH".to_owned(),
                    sending_facility: "LAB".to_owned(),
                    facility_id: facility.clone(),
                    section_code: "BIO".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await?;

    // Every measured message (and the raw run's) has a specimen of its own.
    let runs = 3;
    let specimens = iterations * runs + iterations / 5 + 400;
    println!("seeding {specimens} received specimens of three tests each...");
    let owner = PgPoolOptions::new()
        .max_connections(clients.max(1) as u32 + 1)
        .connect_with(bench.db.owner_options())
        .await?;
    let (tenant_id, facility_id) = (tenant.as_uuid(), Uuid::parse_str(&facility)?);
    for statement in [
        "INSERT INTO laboratory.orders (tenant_id, id, referral_id, encounter_id, patient_id, \
             facility_id, requested_by, priority, status, ordered_at) \
         SELECT $1, md5('o' || i)::uuid, md5('r' || i)::uuid, md5('e' || i)::uuid, \
                md5('p' || i)::uuid, $2, md5('d')::uuid, 'routine', 'received', now() \
         FROM generate_series(0, $3 - 1) AS i",
        "INSERT INTO laboratory.specimens (tenant_id, id, accession, order_id, specimen_type, \
             container, test_codes, status, collected_by, collected_at, received_by, received_at) \
         SELECT $1, md5('s' || i)::uuid, '99' || lpad(i::text, 9, '0'), md5('o' || i)::uuid, \
                'serum', 'gold top (SST)', ARRAY['2823-3', '2951-2', '2345-7'], 'received', \
                md5('n')::uuid, now(), md5('t')::uuid, now() \
         FROM generate_series(0, $3 - 1) AS i",
        "INSERT INTO laboratory.order_tests (tenant_id, order_id, test_code, test_name, \
             section_code, position, specimen_id) \
         SELECT $1, md5('o' || i)::uuid, t.code, t.name, 'BIO', t.position, md5('s' || i)::uuid \
         FROM generate_series(0, $3 - 1) AS i, \
              (VALUES ('2823-3', 'Potassium', 1), ('2951-2', 'Sodium', 2), \
                      ('2345-7', 'Glucose', 3)) AS t(code, name, position)",
    ] {
        sqlx::query(statement)
            .bind(tenant_id)
            .bind(facility_id)
            .bind(i64::try_from(specimens)?)
            .execute(&owner)
            .await?;
    }
    sqlx::query("ANALYZE").execute(&owner).await?;

    let links: Arc<Vec<Mutex<Link>>> = Arc::new(
        connect_links(addr, clients.max(1))
            .await?
            .into_iter()
            .map(Mutex::new)
            .collect(),
    );
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let send = {
        let (links, next) = (links.clone(), next.clone());
        move |client: usize, _n: usize| {
            let (links, next) = (links.clone(), next.clone());
            async move {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut link = links[client].lock().await;
                link.exchange(&oru(n)).await
            }
        }
    };
    // Warm-up.
    measure_concurrent(
        "warm-up",
        clients,
        iterations / (5 * clients.max(1)) + 1,
        send.clone(),
    )
    .await?;
    let per_client = iterations / clients.max(1);
    let closed = measure_concurrent(
        "ORU^R01 over MLLP, 3 results each (closed loop)",
        clients,
        per_client,
        send.clone(),
    )
    .await?;
    let paced = paced_run(&links, &next, per_client * clients).await?;

    // The same writes, as raw PostgreSQL: the route, the specimen and its order locked, the
    // three results, the order's status, the message log and an audit record, committed.
    let raw_next = Arc::new(std::sync::atomic::AtomicUsize::new(
        next.load(std::sync::atomic::Ordering::Relaxed),
    ));
    let raw = {
        let owner = owner.clone();
        move |_client: usize, _n: usize| {
            let (owner, raw_next) = (owner.clone(), raw_next.clone());
            async move {
                let n = raw_next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let mut tx = owner.begin().await?;
                let (_, analyser): (Uuid, Uuid) = sqlx::query_as(
                    "SELECT tenant_id, analyser_id FROM laboratory.analyser_routes \
                     WHERE sending_application = 'BENCH' AND sending_facility = 'LAB'",
                )
                .fetch_one(&mut *tx)
                .await?;
                let (specimen, order): (Uuid, Uuid) = sqlx::query_as(
                    "SELECT id, order_id FROM laboratory.specimens \
                     WHERE tenant_id = $1 AND accession = $2 FOR UPDATE",
                )
                .bind(tenant_id)
                .bind(accession(n))
                .fetch_one(&mut *tx)
                .await?;
                let _ = specimen;
                sqlx::query("SELECT status FROM laboratory.orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
                    .bind(tenant_id)
                    .bind(order)
                    .fetch_one(&mut *tx)
                    .await?;
                let message = Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO laboratory.results (tenant_id, id, order_id, patient_id, \
                         test_code, value, value_numeric, unit, flag, reference_range, status, \
                         source, message_id, entered_by, observed_at) \
                     SELECT $1, gen_random_uuid(), $2, md5('p')::uuid, t.code, t.value, \
                            t.value::numeric, 'mmol/L', 'normal', '3.5-5.1', 'entered', \
                            'analyser:BENCH-1', $3, $4, now() \
                     FROM (VALUES ('2823-3', '4.1'), ('2951-2', '140'), ('2345-7', '5.1')) \
                          AS t(code, value)",
                )
                .bind(tenant_id)
                .bind(order)
                .bind(message)
                .bind(analyser)
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE laboratory.orders SET status = 'in_progress' WHERE tenant_id = $1 AND id = $2")
                    .bind(tenant_id)
                    .bind(order)
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "INSERT INTO laboratory.hl7_messages (tenant_id, id, analyser_id, control_id, \
                         message_type, received_at, acknowledgment, results) \
                     VALUES ($1, $2, $3, $4, 'ORU^R01', now(), 'AA', 3)",
                )
                .bind(tenant_id)
                .bind(message)
                .bind(analyser)
                .bind(format!("R{n}"))
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, \
                         username, method, patient_ids, resource_ids, outcome, client_addr, \
                         request_id, break_glass_reason) \
                     VALUES ($1, gen_random_uuid(), now(), gen_random_uuid(), 'raw', 'raw', \
                         ARRAY[md5('p')::uuid], '{}', 'OK', '', 'raw', '')",
                )
                .bind(tenant_id)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    let raw_sample = measure_concurrent(
        "raw PostgreSQL: the same writes, one transaction a message",
        clients,
        per_client,
        raw,
    )
    .await?;
    println!();
    print(&[closed, paced, raw_sample]);
    bench.stop().await
}

async fn connect_links(addr: SocketAddr, count: usize) -> anyhow::Result<Vec<Link>> {
    let mut links = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        links.push(Link(stream));
    }
    Ok(links)
}

/// `total` messages started at PACE a second, each on the next free connection: the ACK
/// latency counted from when the message was due, so a backlog shows in the percentiles.
async fn paced_run(
    links: &Arc<Vec<Mutex<Link>>>,
    next: &Arc<std::sync::atomic::AtomicUsize>,
    total: usize,
) -> anyhow::Result<Sample> {
    let started = Instant::now();
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / PACE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::with_capacity(total);
    for sent in 0..total {
        tick.tick().await;
        let due = Instant::now();
        let (links, next) = (links.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let mut link = links[sent % links.len()].lock().await;
            link.exchange(&oru(n)).await?;
            Ok::<_, anyhow::Error>(due.elapsed())
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    for task in tasks {
        latencies.push(task.await??);
    }
    Ok(Sample {
        name: "ORU^R01 over MLLP, paced at 200 messages/s",
        latencies,
        elapsed: started.elapsed(),
    })
}
