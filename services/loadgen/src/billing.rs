//! Billing: (1) whether charge capture keeps up with the ADT cycle — concurrent desks admit,
//! transfer and discharge while billing follows the admissions outbox; its backlog (events
//! published and not yet taken) is sampled every half second, and the time to catch up once
//! the desks stop is measured; every discharged stay must have its bed-days and its DRG case.
//! (2) A month's revenue report over a year of a 1,000-bed hospital (60,000 stays, about half
//! a million charges seeded straight into the billing schema), by ward and by payer, over
//! gRPC beside the raw PostgreSQL statement.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use hmis_proto::openhmis::admissions::v1 as adt_pb;
use hmis_proto::openhmis::billing::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use pb::billing_service_client::BillingServiceClient;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::bench::{Bearer, Bench, register, signed};
use crate::report::{Sample, measure_concurrent, print};

/// Stays of the seeded year and the wards and physicians they are spread over.
const STAYS: i64 = 60_000;
const WARDS: i64 = 30;
const PHYSICIANS: i64 = 120;

pub async fn run(clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[
        ("bench-desk", "registrar"),
        ("bench-billing", "billing_officer"),
    ])
    .await?;
    let desk = bench.login("bench-desk").await?;
    let officer = bench.login("bench-billing").await?;
    let contract = set_up_billing(&bench, &officer).await?;

    // (1) The ADT cycle with billing following it.
    let calls = (iterations / clients).max(1);
    let stays = clients * calls;
    println!("setting up two wards of {stays} beds and {stays} patients...");
    let facility = bench.facility().await?;
    let (ward_a, beds_a) = bench.ward(&facility, "A", stays).await?;
    let (ward_b, beds_b) = bench.ward(&facility, "B", stays).await?;
    let channels = bench.connections(clients).await?;
    let mut patients = Vec::with_capacity(stays);
    for index in 0..stays {
        patients.push(
            register(
                bench.channel.clone(),
                &desk,
                format!("Bill{index}"),
                patients_pb::Sex::Female,
                "1958-04-01",
            )
            .await?,
        );
    }
    let (patients, beds_a, beds_b) = (Arc::new(patients), Arc::new(beds_a), Arc::new(beds_b));
    let owner = PgPoolOptions::new()
        .max_connections(clients as u32 + 1)
        .connect_with(bench.db.owner_options())
        .await?;

    let running = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (owner, running) = (owner.clone(), running.clone());
        tokio::spawn(async move {
            let mut samples = Vec::new();
            let mut tick = tokio::time::interval(Duration::from_millis(500));
            while running.load(Ordering::Relaxed) {
                tick.tick().await;
                samples.push((
                    backlog(&owner).await?,
                    backlog_of(&owner, "statistics.admissions").await?,
                ));
            }
            Ok::<_, anyhow::Error>(samples)
        })
    };
    let cycle = {
        let (channels, desk, patients) = (channels.clone(), desk.clone(), patients.clone());
        let (beds_a, beds_b, ward_a, ward_b) = (
            beds_a.clone(),
            beds_b.clone(),
            ward_a.clone(),
            ward_b.clone(),
        );
        move |client: usize, n: usize| {
            let mut adt = adt_pb::admission_service_client::AdmissionServiceClient::new(
                channels[client].clone(),
            );
            let (desk, patients) = (desk.clone(), patients.clone());
            let (beds_a, beds_b, ward_a, ward_b) = (
                beds_a.clone(),
                beds_b.clone(),
                ward_a.clone(),
                ward_b.clone(),
            );
            async move {
                let index = client * calls + n;
                cycle_once(
                    &mut adt,
                    &desk,
                    (&patients[index], &ward_a, &beds_a[index]),
                    (&ward_b, &beds_b[index]),
                )
                .await
            }
        }
    };
    let cycles = measure_concurrent(
        "gRPC admit + transfer + discharge, billing following",
        clients,
        calls,
        cycle,
    )
    .await?;
    running.store(false, Ordering::Relaxed);
    let samples = sampler.await??;
    let stopped = Instant::now();
    let mut poll = tokio::time::interval(Duration::from_millis(20));
    loop {
        poll.tick().await;
        if backlog(&owner).await? == 0 {
            break;
        }
        anyhow::ensure!(
            stopped.elapsed() < Duration::from_secs(300),
            "billing did not catch up in five minutes"
        );
    }
    let drained = stopped.elapsed();
    let (charged, cases): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(DISTINCT account_id) FROM billing.charges \
                 WHERE source = 'accommodation'), \
                (SELECT count(*) FROM billing.cases)",
    )
    .fetch_one(&owner)
    .await?;
    let done = cycles.latencies.len();
    print(std::slice::from_ref(&cycles));
    let half = samples.len() / 2;
    /// Which backlog of a (billing, statistics) sample.
    type Which = fn(&(i64, i64)) -> i64;
    let mean = |part: &[(i64, i64)], which: Which| {
        part.iter().map(which).sum::<i64>() as f64 / part.len().max(1) as f64
    };
    let (billing, statistics): (Which, Which) = (|sample| sample.0, |sample| sample.1);
    println!(
        "billing's backlog of admissions events, sampled every 0.5 s while {done} stays \
         cycled: max {}, mean {:.1} in the first half and {:.1} in the second (statistics' \
         read model, for comparison: max {}, means {:.1} and {:.1}); billing caught up {} ms \
         after the desks stopped; {charged} stays charged their bed-days, {cases} DRG cases \
         grouped",
        samples.iter().map(billing).max().unwrap_or(0),
        mean(&samples[..half], billing),
        mean(&samples[half..], billing),
        samples.iter().map(statistics).max().unwrap_or(0),
        mean(&samples[..half], statistics),
        mean(&samples[half..], statistics),
        drained.as_millis(),
    );
    anyhow::ensure!(
        charged == done as i64 && cases == done as i64,
        "every stay charged and grouped"
    );

    // (2) A month's revenue over a year of a 1,000-bed hospital.
    println!("seeding a year of a 1,000-bed hospital: {STAYS} stays and their charges...");
    let seeded = Instant::now();
    let total = seed_year(&owner, bench.tenant_id.as_uuid(), contract).await?;
    println!(
        "seeded {total} charges in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );
    let today = chrono::Utc::now().date_naive();
    let month = move |n: usize| {
        let end = today - chrono::Duration::days(1 + (n as i64 * 11) % 300);
        (end - chrono::Duration::days(29), end)
    };
    let revenue = |group_by: pb::RevenueGrouping| {
        let (channels, officer, facility) = (channels.clone(), officer.clone(), facility.clone());
        move |client: usize, n: usize| {
            let mut api = BillingServiceClient::new(channels[client].clone());
            let (officer, facility) = (officer.clone(), facility.clone());
            async move {
                let (from, to) = month(n);
                let report = api
                    .get_revenue(signed(
                        &officer,
                        pb::GetRevenueRequest {
                            facility_id: facility,
                            from_date: from.to_string(),
                            to_date: to.to_string(),
                            group_by: group_by.into(),
                        },
                    ))
                    .await?
                    .into_inner();
                anyhow::ensure!(!report.rows.is_empty(), "a month has revenue");
                Ok(())
            }
        }
    };
    let raw = {
        let owner = owner.clone();
        let tenant = bench.tenant_id.as_uuid();
        move |_client: usize, n: usize| {
            let owner = owner.clone();
            async move {
                let (from, to) = month(n);
                let start = from.and_hms_opt(0, 0, 0).context("midnight")?.and_utc()
                    - chrono::Duration::hours(2);
                let end = to.and_hms_opt(0, 0, 0).context("midnight")?.and_utc()
                    + chrono::Duration::hours(22);
                let rows = sqlx::query(
                    "SELECT coalesce(department_id::text, '') AS key, count(*), \
                         sum(amount)::numeric(14,2)::text, \
                         sum(national_amount + supplementary_amount)::numeric(14,2)::text, \
                         sum(patient_amount)::numeric(14,2)::text \
                     FROM billing.charges \
                     WHERE tenant_id = $1 AND service_time >= $2 AND service_time < $3 \
                     GROUP BY 1 ORDER BY sum(amount) DESC, 1",
                )
                .bind(tenant)
                .bind(start)
                .bind(end)
                .fetch_all(&owner)
                .await?;
                anyhow::ensure!(!rows.is_empty(), "a month has revenue");
                Ok(())
            }
        }
    };
    let reports = (iterations / 10).max(50);
    let samples: Vec<Sample> = vec![
        measure_concurrent(
            "gRPC GetRevenue, a month by ward (a year of 1,000 beds)",
            clients,
            reports / clients.max(1),
            revenue(pb::RevenueGrouping::Ward),
        )
        .await?,
        measure_concurrent(
            "gRPC GetRevenue, a month by payer",
            clients,
            reports / clients.max(1),
            revenue(pb::RevenueGrouping::Payer),
        )
        .await?,
        measure_concurrent(
            "raw PostgreSQL: the month by ward's statement",
            clients,
            reports / clients.max(1),
            raw,
        )
        .await?,
    ];
    print(&samples);
    bench.stop().await
}

/// Events of the admissions outbox `subscriber` has not taken yet.
async fn backlog_of(owner: &sqlx::PgPool, subscriber: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM admissions.outbox o \
         WHERE (o.txid, o.id) > coalesce((SELECT (f.last_txid, f.last_id) \
               FROM admissions.outbox_offsets f \
               WHERE f.subscriber = $1), ('0'::xid8, 0::bigint))",
    )
    .bind(subscriber)
    .fetch_one(owner)
    .await?)
}

/// Billing's backlog of admissions events.
async fn backlog(owner: &sqlx::PgPool) -> anyhow::Result<i64> {
    backlog_of(owner, "billing.charges_from_admissions").await
}

/// One stay: admitted into a bed of ward A, moved to a bed of ward B, discharged.
async fn cycle_once(
    adt: &mut adt_pb::admission_service_client::AdmissionServiceClient<tonic::transport::Channel>,
    desk: &Bearer,
    (patient, ward_a, bed_a): (&str, &str, &str),
    (ward_b, bed_b): (&str, &str),
) -> anyhow::Result<()> {
    let admission = adt
        .admit_patient(signed(
            desk,
            adt_pb::AdmitPatientRequest {
                request_id: Uuid::new_v4().to_string(),
                admission: Some(adt_pb::Admission {
                    patient_id: patient.to_owned(),
                    department_id: ward_a.to_owned(),
                    bed_id: bed_a.to_owned(),
                    r#type: adt_pb::AdmissionType::Emergency.into(),
                    admitting_diagnosis_code: "I21.0".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .admission
        .context("no admission")?;
    adt.transfer_patient(signed(
        desk,
        adt_pb::TransferPatientRequest {
            request_id: Uuid::new_v4().to_string(),
            admission_id: admission.id.clone(),
            department_id: ward_b.to_owned(),
            bed_id: bed_b.to_owned(),
            ..Default::default()
        },
    ))
    .await?;
    adt.discharge_patient(signed(
        desk,
        adt_pb::DischargePatientRequest {
            request_id: Uuid::new_v4().to_string(),
            admission_id: admission.id,
            r#type: adt_pb::DischargeType::Recovered.into(),
            ..Default::default()
        },
    ))
    .await?;
    Ok(())
}

/// The starter tariffs and grouper tables, and CNAM; its contract id.
async fn set_up_billing(bench: &Bench, officer: &Bearer) -> anyhow::Result<Uuid> {
    let mut api = BillingServiceClient::new(bench.channel.clone());
    let price_list = api
        .create_price_list(signed(
            officer,
            pb::CreatePriceListRequest {
                request_id: Uuid::new_v4().to_string(),
                name: "Bench tariffs".to_owned(),
                currency: "MDL".to_owned(),
                valid_from: "2020-01-01".to_owned(),
                valid_until: String::new(),
            },
        ))
        .await?
        .into_inner()
        .price_list
        .context("no price list")?;
    api.set_tariffs(signed(
        officer,
        hmis_billing::starter::tariffs_request(Uuid::new_v4().to_string(), price_list.id),
    ))
    .await?;
    api.import_grouper_tables(signed(
        officer,
        hmis_billing::starter::grouper_request(Uuid::new_v4().to_string()),
    ))
    .await?;
    let contract = api
        .create_insurance_contract(signed(
            officer,
            pb::CreateInsuranceContractRequest {
                request_id: Uuid::new_v4().to_string(),
                contract: Some(pb::InsuranceContract {
                    payer_code: "CNAM".to_owned(),
                    name: "National health insurance".to_owned(),
                    kind: pb::PayerKind::National.into(),
                    default_percent: "85".to_owned(),
                    drg_base_rate: "9800".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .contract
        .context("no contract")?;
    Ok(Uuid::parse_str(&contract.id)?)
}

/// A year of a 1,000-bed hospital straight into the billing schema: 60,000 stays (an
/// account each, over 30 wards and 120 physicians), each with its bed-days, a procedure,
/// four supplies and, for one in ten, a reversal; CNAM pays 85 %.
async fn seed_year(owner: &sqlx::PgPool, tenant: Uuid, contract: Uuid) -> anyhow::Result<i64> {
    sqlx::query(
        "INSERT INTO billing.accounts (tenant_id, id, patient_id, admission_id, status, \
             admit_time, discharge_time, opened_at) \
         SELECT $1, md5('a' || i)::uuid, md5('p' || i)::uuid, md5('adm' || i)::uuid, 'open', \
                t.admitted, t.admitted + interval '6 days', t.admitted \
         FROM generate_series(1, $2) AS i, \
              LATERAL (SELECT now() - interval '372 days' + (i * interval '365 days') / $2 \
                              AS admitted) t",
    )
    .bind(tenant)
    .bind(STAYS)
    .execute(owner)
    .await?;
    // Line kinds: 0 bed-days, 1 procedure, 2..5 supplies; each tenth stay reverses its
    // procedure. Amounts are exact and split 85/15.
    sqlx::query(
        "INSERT INTO billing.charges (tenant_id, id, account_id, source, source_key, code_system, \
             code, description, quantity, unit_price, amount, national_contract_id, \
             national_amount, patient_amount, service_group, service_time, department_id, \
             physician_id, reverses_id, created_at) \
         SELECT $1, md5('c' || i || '-' || k)::uuid, md5('a' || i)::uuid, \
                (ARRAY['accommodation', 'procedure', 'supply', 'supply', 'supply', 'supply'])[k + 1], \
                'seed:' || i || ':' || k, '', 'C' || k, 'seeded', 1, p.price, p.price, $3, \
                round(p.price * 0.85, 2), p.price - round(p.price * 0.85, 2), \
                (ARRAY['accommodation', 'surgery', 'medicines', 'medicines', 'materials', \
                       'materials'])[k + 1], \
                now() - interval '372 days' + (i * interval '365 days') / $2 \
                    + k * interval '20 hours', \
                md5('w' || i % $4)::uuid, md5('d' || i % $5)::uuid, NULL, now() \
         FROM generate_series(1, $2) AS i, generate_series(0, 5) AS k, \
              LATERAL (SELECT (CASE WHEN k = 0 THEN 2700 WHEN k = 1 THEN 3200 \
                                    ELSE 10 + (i + k) % 90 END)::numeric(14,2) AS price) p",
    )
    .bind(tenant)
    .bind(STAYS)
    .bind(contract)
    .bind(WARDS)
    .bind(PHYSICIANS)
    .execute(owner)
    .await?;
    sqlx::query(
        "INSERT INTO billing.charges (tenant_id, id, account_id, source, source_key, code_system, \
             code, description, quantity, unit_price, amount, national_contract_id, \
             national_amount, patient_amount, service_group, service_time, department_id, \
             physician_id, reverses_id, created_at) \
         SELECT tenant_id, md5('r' || id)::uuid, account_id, source, 'reversal:' || id, \
                code_system, code, description, quantity, -unit_price, -amount, \
                national_contract_id, -national_amount, -patient_amount, service_group, \
                service_time, department_id, physician_id, id, now() \
         FROM billing.charges WHERE tenant_id = $1 AND source = 'procedure' \
           AND source_key LIKE 'seed:%0:1'",
    )
    .bind(tenant)
    .execute(owner)
    .await?;
    sqlx::query(
        "UPDATE billing.accounts a SET total = c.total, patient_total = c.patient_total \
         FROM (SELECT account_id, sum(amount) AS total, sum(patient_amount) AS patient_total \
               FROM billing.charges WHERE tenant_id = $1 GROUP BY account_id) c \
         WHERE a.tenant_id = $1 AND a.id = c.account_id",
    )
    .bind(tenant)
    .execute(owner)
    .await?;
    sqlx::query("ANALYZE billing.accounts, billing.charges")
        .execute(owner)
        .await?;
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM billing.charges WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_one(owner)
            .await?,
    )
}
