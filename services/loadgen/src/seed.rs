//! Scenario `seed`: a big hospital in the demo tenant, written with COPY, to run or try the
//! system at a real size: `patients` registered people (a million by default) and a year of
//! admissions that keep `wards` new wards of `beds_per_ward` beds full, patient after
//! patient, so the admissions still open are the beds' current patients.
//!
//! It seeds the database `openhmis demo` serves (`HMIS_DATABASE__URL`, else the embedded
//! cluster in `HMIS_DATABASE__EMBEDDED__DIR`), after loading the demo hospital there. The
//! wards and beds are made through the core service, as an administrator makes them. The
//! people and their admissions go straight into the tables of the modules that own them and
//! into every read model their events would have filled (the registry's search index, visit
//! history and placements, admissions' copy of patient facts, the statistics read models),
//! in one transaction: a seed that fails leaves nothing behind. No events are published for
//! seeded rows; their subscribers' tables are written here instead.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, SecondsFormat, Utc};
use hmis_patients::domain::national_id::MoldovaIdnp;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use hmis_proto::openhmis::statistics::v1 as statistics_pb;
use openhmis_server::Options;
use openhmis_server::{Application, demo};
use prost::Message as _;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::bench::{login_as, signed, ward};
use crate::patients::{mix, person};

/// How big the seeded hospital is.
#[derive(Debug, Clone, Copy)]
pub struct Size {
    pub patients: u32,
    pub wards: usize,
    pub beds_per_ward: usize,
    pub days: u32,
}

/// Admitting diagnoses, ICD-10, roughly as common as a general hospital sees them.
const CODES: &[&str] = &[
    "I21.9", "I50.0", "J18.9", "K35.8", "K80.2", "N39.0", "I63.9", "J44.1", "E11.9", "S72.0",
    "I10", "K29.7", "A09.9", "I48.9", "K56.6", "N20.0",
];

/// One seeded admission: a single stay in one bed, from admission to discharge (or now).
#[derive(Debug, Clone)]
struct Planned {
    bed: usize,
    admit: DateTime<Utc>,
    discharge: Option<DateTime<Utc>>,
    emergency: bool,
    outcome: Option<&'static str>,
    code: &'static str,
}

fn outcome(draw: u64) -> &'static str {
    match draw % 100 {
        0..=2 => "deceased",
        3..=4 => "transferred",
        5 => "left_against_advice",
        6..=10 => "unchanged",
        11..=50 => "recovered",
        _ => "improved",
    }
}

/// Every bed's `days`: patients back to back, staying 6 hours to 3 weeks (most a few days),
/// with 2 to 36 hours of cleaning and waiting between them; the one still in at `now` stays
/// open. In order of admission.
fn plan(beds: usize, days: u32, now: DateTime<Utc>) -> Vec<Planned> {
    let start = now - Duration::days(i64::from(days));
    let mut planned = Vec::new();
    for bed in 0..beds {
        let mut n = 0_u64;
        let mut draw = || {
            n += 1;
            mix(((bed as u64) << 32) | n)
        };
        let mut at = start + seconds(draw() % 172_800);
        while at < now {
            // A squared uniform: most stays are short, a few are long.
            let u = (draw() % 10_000) as f64 / 10_000.0;
            let end = at + Duration::hours(6) + seconds((u * u * 21.0 * 86_400.0) as u64);
            let open = end >= now;
            let kind = draw();
            planned.push(Planned {
                bed,
                admit: at,
                discharge: (!open).then_some(end),
                emergency: kind % 10 < 6,
                outcome: (!open).then(|| outcome(kind / 10)),
                code: CODES[usize::try_from(kind / 1_000).unwrap_or(0) % CODES.len()],
            });
            if open {
                break;
            }
            at = end + Duration::hours(2) + seconds(draw() % 122_400);
        }
    }
    planned.sort_by_key(|admission| (admission.admit, admission.bed));
    planned
}

fn seconds(value: u64) -> Duration {
    Duration::seconds(i64::try_from(value).unwrap_or(i64::MAX / 1_000_000))
}

/// Admission `k` goes to patient `1 + (k * stride) % patients`: with a stride coprime to the
/// count, no patient is admitted twice, so nobody holds two beds or two open admissions.
fn stride(patients: u64) -> u64 {
    [1_000_003_u64, 999_983, 7_919]
        .into_iter()
        .find(|prime| !patients.is_multiple_of(*prime))
        .unwrap_or(1)
}

fn iso(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

fn idnp(g: u64) -> anyhow::Result<String> {
    // "21": apart from the demo's own IDNPs ("20...").
    Ok(MoldovaIdnp::complete(&format!("21{g:010}"))?)
}

fn birth_date(g: u64) -> anyhow::Result<NaiveDate> {
    // 1935 to 2019: everyone was born before the seeded year.
    Ok(NaiveDate::from_ymd_opt(1935, 1, 1).context("date")? + chrono::Days::new(mix(g) % 31_000))
}

/// COPY FROM STDIN in text format: `row(n, buffer)` writes the lines of item `n` (of `items`),
/// sent a few megabytes at a time; returns the rows COPY took.
async fn copy(
    connection: &mut PgConnection,
    statement: &str,
    items: u64,
    mut row: impl FnMut(u64, &mut String) -> anyhow::Result<()>,
) -> anyhow::Result<u64> {
    let mut copy = connection.copy_in_raw(statement).await?;
    let mut buffer = String::with_capacity(1 << 22);
    for n in 0..items {
        row(n, &mut buffer)?;
        if buffer.len() >= 1 << 22 {
            copy.send(buffer.as_bytes()).await?;
            buffer.clear();
        }
    }
    if !buffer.is_empty() {
        copy.send(buffer.as_bytes()).await?;
    }
    Ok(copy.finish().await?)
}

/// Prints how long a step took and its rows per second.
fn done(step: &str, rows: u64, started: Instant) {
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "  {step}: {rows} rows in {elapsed:.1} s ({:.0} rows/s)",
        rows as f64 / elapsed.max(1e-9)
    );
}

pub async fn run(size: Size) -> anyhow::Result<()> {
    let config = std::env::var_os("HMIS_CONFIG").map(std::path::PathBuf::from);
    let mut options = Options::load(config.as_deref())?;
    demo::apply_defaults(&mut options);
    options.server.listen_addr = SocketAddr::from(([127, 0, 0, 1], 0));
    let tenant_code = options.iam.bootstrap_tenant_code.clone();
    let password = options
        .iam
        .bootstrap_admin_password
        .as_ref()
        .map(|secret| secret.expose().to_owned())
        .context("no administrator password")?;
    let application = Application::prepare(options).await?;
    let owner_options = application
        .owner_connect_options()
        .context("no owner connection")?
        .clone();
    let ready = async {
        let mut owner = PgConnection::connect_with(&owner_options).await?;
        let place = prepare(&application, &mut owner).await?;
        let listener = application.bind().await?;
        anyhow::Ok((owner, place, listener))
    }
    .await;
    let (mut owner, place, listener) = match ready {
        Ok(ready) => ready,
        Err(error) => {
            // Stops the embedded cluster, if this process started it.
            application.shutdown().await?;
            return Err(error);
        }
    };
    let addr = listener.local_addr()?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(application.serve(listener, async {
        let _ = stopped.await;
    }));
    let outcome = seed(
        &mut owner,
        Target {
            addr,
            tenant_code: &tenant_code,
            password: &password,
            place,
        },
        size,
    )
    .await;
    let _ = stop.send(());
    server.await??;
    outcome
}

/// Loads the demo hospital and finds where the seed goes (its facility, the registrar the
/// registrations are recorded as made by); refuses a database seeded before.
async fn prepare(application: &Application, owner: &mut PgConnection) -> anyhow::Result<Place> {
    let tenant_id = application.bootstrap().await?.tenant_id;
    println!("loading the demo hospital...");
    application.load_demo(tenant_id).await?;
    let tenant = tenant_id.as_uuid();
    // COPY into a table with row-level security needs a role the policies do not bind.
    let bypasses: bool = sqlx::query_scalar(
        "SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user",
    )
    .fetch_one(&mut *owner)
    .await?;
    anyhow::ensure!(
        bypasses,
        "the seeder writes with COPY, which row-level security refuses: connect as a \
         superuser or a role with BYPASSRLS"
    );
    let (facility_id, time_zone): (Uuid, String) = sqlx::query_as(
        "SELECT id, time_zone FROM core.facilities WHERE tenant_id = $1 AND code = 'DRH'",
    )
    .bind(tenant)
    .fetch_one(&mut *owner)
    .await
    .context("the demo facility is missing")?;
    let seeded: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT FROM core.departments \
                        WHERE tenant_id = $1 AND facility_id = $2 AND code = 'S01')",
    )
    .bind(tenant)
    .bind(facility_id)
    .fetch_one(&mut *owner)
    .await?;
    anyhow::ensure!(
        !seeded,
        "this database is seeded already (ward S01 exists); seed a fresh one"
    );
    let registrar: Uuid = sqlx::query_scalar(
        "SELECT id FROM iam.users WHERE tenant_id = $1 AND username = 'registrar'",
    )
    .bind(tenant)
    .fetch_one(&mut *owner)
    .await
    .context("the demo registrar is missing")?;
    Ok(Place {
        tenant,
        facility_id,
        time_zone,
        registrar,
    })
}

/// The demo tenant's facility the seeded wards join.
struct Place {
    tenant: Uuid,
    facility_id: Uuid,
    time_zone: String,
    /// Who the registrations are recorded as made by.
    registrar: Uuid,
}

/// Where the seed goes, and the server that makes its wards and checks it.
struct Target<'a> {
    addr: SocketAddr,
    tenant_code: &'a str,
    password: &'a str,
    place: Place,
}

async fn seed(owner: &mut PgConnection, target: Target<'_>, size: Size) -> anyhow::Result<()> {
    let place = &target.place;
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{}", target.addr))?
        .connect()
        .await?;
    let admin = login_as(
        channel.clone(),
        target.tenant_code,
        "admin",
        target.password,
    )
    .await?;
    let began = Instant::now();
    println!(
        "making {} wards of {} beds...",
        size.wards, size.beds_per_ward
    );
    let mut wards = Vec::with_capacity(size.wards);
    let mut beds: Vec<(Uuid, Uuid)> = Vec::with_capacity(size.wards * size.beds_per_ward);
    for n in 1..=size.wards {
        let (ward_id, bed_ids) = ward(
            &channel,
            &admin,
            &place.facility_id.to_string(),
            &format!("S{n:02}"),
            size.beds_per_ward,
        )
        .await?;
        let ward_id = Uuid::parse_str(&ward_id)?;
        wards.push(ward_id);
        for bed in bed_ids {
            beds.push((ward_id, Uuid::parse_str(&bed)?));
        }
    }

    let now = Utc::now();
    let planned = plan(beds.len(), size.days, now);
    let count = u64::from(size.patients);
    anyhow::ensure!(
        planned.len() as u64 <= count,
        "{} beds over {} days make {} admissions: seed at least that many patients",
        beds.len(),
        size.days,
        planned.len()
    );
    let stride = stride(count);
    let patient_of = |k: usize| 1 + (k as u64).wrapping_mul(stride) % count;
    // Who died in hospital, and when: their records say so.
    let mut deaths = std::collections::HashMap::new();
    for (k, admission) in planned.iter().enumerate() {
        if let (Some("deceased"), Some(at)) = (admission.outcome, admission.discharge) {
            deaths.insert(patient_of(k), at);
        }
    }
    let window_start = now - Duration::days(i64::from(size.days));

    let mut tx = owner.begin().await?;
    let first_mrn: i64 = sqlx::query_scalar(
        "SELECT coalesce((SELECT next_mrn FROM patients.mrn_counters WHERE tenant_id = $1 \
                          FOR UPDATE), 1)",
    )
    .bind(place.tenant)
    .fetch_one(&mut *tx)
    .await?;
    let ids: Vec<Uuid> = (0..count).map(|_| Uuid::new_v4()).collect();
    let mrn = |g: u64| format!("{:08}", first_mrn + i64::try_from(g).unwrap_or(0) - 1);
    // Registered at some point in the four years before the seeded period.
    let registered = |g: u64| window_start - seconds(3_600 + mix(g ^ 0x5eed) % (4 * 31_536_000));
    println!("seeding {count} patients...");

    // The search projection is built in bulk below, as its migration backfills it, rather
    // than by its trigger once per row.
    sqlx::query("ALTER TABLE patients.patients DISABLE TRIGGER index_patient")
        .execute(&mut *tx)
        .await?;
    let started = Instant::now();
    let tenant = place.tenant.to_string();
    let rows = copy(
        &mut tx,
        "COPY patients.patients (tenant_id, id, mrn, family_name, given_names, sex, birth_date, \
             citizenship, version, death_date, created_at, updated_at) FROM STDIN",
        count,
        |n, out| {
            let g = n + 1;
            let person = person(g);
            let death = deaths.get(&g);
            writeln!(
                out,
                "{tenant}\t{}\t{}\t{}\t{}\t{}\t{}\tMD\t{}\t{}\t{}\t{}",
                ids[usize::try_from(n)?],
                mrn(g),
                person.family,
                person.given,
                if person.female { "female" } else { "male" },
                birth_date(g)?,
                if death.is_some() { 2 } else { 1 },
                death.map_or_else(|| "\\N".to_owned(), |at| at.date_naive().to_string()),
                iso(registered(g)),
                iso(death.copied().unwrap_or_else(|| registered(g))),
            )?;
            Ok(())
        },
    )
    .await?;
    done("patients.patients", rows, started);
    sqlx::query("ALTER TABLE patients.patients ENABLE TRIGGER index_patient")
        .execute(&mut *tx)
        .await?;

    let started = Instant::now();
    let rows = copy(
        &mut tx,
        "COPY patients.identifiers (tenant_id, patient_id, type, country, value) FROM STDIN",
        count,
        |n, out| {
            writeln!(
                out,
                "{tenant}\t{}\tnational_id\tMD\t{}",
                ids[usize::try_from(n)?],
                idnp(n + 1)?
            )?;
            Ok(())
        },
    )
    .await?;
    done("patients.identifiers", rows, started);

    // Each record's history, as the registry keeps it: the registered version, and for those
    // who died here, the version that says so.
    let started = Instant::now();
    let registrar = place.registrar.to_string();
    let snapshot = |g: u64, death: Option<DateTime<Utc>>| -> anyhow::Result<String> {
        let person = person(g);
        let patient = patients_pb::Patient {
            id: ids[usize::try_from(g - 1)?].to_string(),
            mrn: mrn(g),
            family_name: person.family,
            given_names: person.given.to_owned(),
            sex: if person.female {
                patients_pb::Sex::Female
            } else {
                patients_pb::Sex::Male
            }
            .into(),
            birth_date: birth_date(g)?.to_string(),
            identifiers: vec![patients_pb::Identifier {
                r#type: patients_pb::IdentifierType::NationalId.into(),
                country: "MD".to_owned(),
                value: idnp(g)?,
            }],
            etag: format!("\"{}\"", if death.is_some() { 2 } else { 1 }),
            create_time: timestamp(registered(g)),
            citizenship: "MD".to_owned(),
            deceased: death.is_some(),
            death_date: death
                .map(|at| at.date_naive().to_string())
                .unwrap_or_default(),
            ..Default::default()
        };
        Ok(hex::encode(patient.encode_to_vec()))
    };
    let rows = copy(
        &mut tx,
        "COPY patients.versions (tenant_id, patient_id, version, kind, changed_fields, \
             changed_by, changed_at, snapshot) FROM STDIN",
        count,
        |n, out| {
            let g = n + 1;
            let id = ids[usize::try_from(n)?];
            writeln!(
                out,
                "{tenant}\t{id}\t1\tregistered\t{{family_name,given_names,sex,birth_date,\
                 identifiers,citizenship}}\t{registrar}\t{}\t\\\\x{}",
                iso(registered(g)),
                snapshot(g, None)?
            )?;
            if let Some(&at) = deaths.get(&g) {
                writeln!(
                    out,
                    "{tenant}\t{id}\t2\tupdated\t{{deceased,death_date}}\t{registrar}\t{}\t\\\\x{}",
                    iso(at),
                    snapshot(g, Some(at))?
                )?;
            }
            Ok(())
        },
    )
    .await?;
    done("patients.versions", rows, started);

    let started = Instant::now();
    let first = mrn(1);
    let rows = sqlx::query(
        "INSERT INTO patients.name_index (tenant_id, patient_id, search_name, birth_date, sex, \
             confidential, active) \
         SELECT tenant_id, id, search_name, birth_date, sex, confidential, true \
         FROM patients.patients WHERE tenant_id = $1 AND mrn >= $2",
    )
    .bind(place.tenant)
    .bind(&first)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "INSERT INTO patients.name_words (tenant_id, word) \
         SELECT DISTINCT tenant_id, word FROM patients.name_index, unnest(words) AS word \
         WHERE tenant_id = $1 AND word <> '' ON CONFLICT DO NOTHING",
    )
    .bind(place.tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO patients.mrn_counters (tenant_id, next_mrn) VALUES ($1, $2) \
         ON CONFLICT (tenant_id) DO UPDATE SET next_mrn = EXCLUDED.next_mrn",
    )
    .bind(place.tenant)
    .bind(first_mrn + i64::try_from(count)?)
    .execute(&mut *tx)
    .await?;
    // What admitting checks of a patient, as admissions keeps it from the registry's events.
    sqlx::query(
        "INSERT INTO admissions.known_patients (tenant_id, patient_id, version, sex, deceased) \
         SELECT tenant_id, id, version, sex, death_date IS NOT NULL \
         FROM patients.patients WHERE tenant_id = $1 AND mrn >= $2",
    )
    .bind(place.tenant)
    .bind(&first)
    .execute(&mut *tx)
    .await?;
    done("search index and admissions' patient facts", rows, started);

    println!(
        "seeding {} admissions over {} days...",
        planned.len(),
        size.days
    );
    let started = Instant::now();
    sqlx::query(
        "CREATE TEMPORARY TABLE seed_admissions (k bigint, id uuid, patient_id uuid, \
             department_id uuid, bed_id uuid, type text, admit timestamptz, \
             discharge timestamptz, outcome text, code text) ON COMMIT DROP",
    )
    .execute(&mut *tx)
    .await?;
    let rows = copy(
        &mut tx,
        "COPY seed_admissions FROM STDIN",
        planned.len() as u64,
        |n, out| {
            let k = usize::try_from(n)?;
            let admission = &planned[k];
            let (ward, bed) = beds[admission.bed];
            let g = patient_of(k);
            writeln!(
                out,
                "{k}\t{}\t{}\t{ward}\t{bed}\t{}\t{}\t{}\t{}\t{}",
                Uuid::new_v4(),
                ids[usize::try_from(g - 1)?],
                if admission.emergency {
                    "emergency"
                } else {
                    "planned"
                },
                iso(admission.admit),
                admission.discharge.map_or_else(|| "\\N".to_owned(), iso),
                admission.outcome.unwrap_or("\\N"),
                admission.code,
            )?;
            Ok(())
        },
    )
    .await?;
    done("admissions (staged by COPY)", rows, started);

    let started = Instant::now();
    // Numbers per facility and year (in its time zone), after those already given, in
    // order of admission.
    sqlx::query(
        "INSERT INTO admissions.admissions (tenant_id, id, patient_id, facility_id, \
             admission_number, type, status, admit_time, department_id, bed_id, \
             admitting_department_id, admitting_diagnosis_code, discharge_type, \
             discharge_time, discharge_recorded_at, created_at, updated_at) \
         SELECT $1, s.id, s.patient_id, $2, \
                (coalesce(c.next_number, 1) + row_number() OVER \
                     (PARTITION BY y.year ORDER BY s.admit, s.k) - 1) || '/' || y.year, \
                s.type, CASE WHEN s.discharge IS NULL THEN 'admitted' ELSE 'discharged' END, \
                s.admit, s.department_id, CASE WHEN s.discharge IS NULL THEN s.bed_id END, \
                s.department_id, s.code, s.outcome, s.discharge, s.discharge, s.admit, \
                coalesce(s.discharge, s.admit) \
         FROM seed_admissions s \
         CROSS JOIN LATERAL (SELECT extract(year FROM s.admit AT TIME ZONE $3)::int AS year) y \
         LEFT JOIN admissions.number_counters c \
                ON c.tenant_id = $1 AND c.facility_id = $2 AND c.year = y.year",
    )
    .bind(place.tenant)
    .bind(place.facility_id)
    .bind(&place.time_zone)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO admissions.number_counters (tenant_id, facility_id, year, next_number) \
         SELECT $1, $2, split_part(admission_number, '/', 2)::int, \
                max(split_part(admission_number, '/', 1)::bigint) + 1 \
         FROM admissions.admissions WHERE tenant_id = $1 AND facility_id = $2 \
         GROUP BY split_part(admission_number, '/', 2) \
         ON CONFLICT (tenant_id, facility_id, year) \
         DO UPDATE SET next_number = greatest(admissions.number_counters.next_number, \
                                              EXCLUDED.next_number)",
    )
    .bind(place.tenant)
    .bind(place.facility_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO admissions.stays (tenant_id, id, admission_id, kind, department_id, \
             bed_id, start_time, end_time) \
         SELECT $1, gen_random_uuid(), id, 'stay', department_id, bed_id, admit, discharge \
         FROM seed_admissions",
    )
    .bind(place.tenant)
    .execute(&mut *tx)
    .await?;
    done("admissions.admissions and stays", rows, started);

    // The read models the admission events would have filled.
    let started = Instant::now();
    sqlx::query(
        "INSERT INTO statistics.admissions (tenant_id, admission_id, version, patient_id, \
             facility_id, admission_type, status, admit_time, discharge_time, discharge_type, \
             admitting_code, admission_number) \
         SELECT a.tenant_id, a.id, a.version, a.patient_id, a.facility_id, a.type, a.status, \
                a.admit_time, a.discharge_time, a.discharge_type, a.admitting_diagnosis_code, \
                a.admission_number \
         FROM seed_admissions s JOIN admissions.admissions a ON a.tenant_id = $1 AND a.id = s.id",
    )
    .bind(place.tenant)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO statistics.stays (tenant_id, admission_id, position, department_id, \
             start_time, end_time, last, facility_id, status, discharge_type, patient_id) \
         SELECT $1, s.id, 0, s.department_id, s.admit, s.discharge, true, $2, \
                CASE WHEN s.discharge IS NULL THEN 'admitted' ELSE 'discharged' END, s.outcome, \
                s.patient_id \
         FROM seed_admissions s",
    )
    .bind(place.tenant)
    .bind(place.facility_id)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO patients.visits (tenant_id, admission_id, patient_id, admission_number, \
             facility_id, department_id, admission_type, status, start_time, end_time) \
         SELECT a.tenant_id, a.id, a.patient_id, a.admission_number, a.facility_id, \
                a.department_id, a.type, \
                CASE WHEN a.status = 'admitted' THEN 'in_progress' ELSE 'finished' END, \
                a.admit_time, a.discharge_time \
         FROM seed_admissions s JOIN admissions.admissions a ON a.tenant_id = $1 AND a.id = s.id",
    )
    .bind(place.tenant)
    .execute(&mut *tx)
    .await?;
    // Where the patients in beds are (ward staff find them by it), and the beds they hold.
    let in_beds = sqlx::query(
        "INSERT INTO patients.placements (tenant_id, patient_id, facility_id, department_id, \
             since) \
         SELECT $1, patient_id, $2, department_id, admit FROM seed_admissions \
         WHERE discharge IS NULL",
    )
    .bind(place.tenant)
    .bind(place.facility_id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    sqlx::query(
        "UPDATE core.beds b SET state = 'occupied', version = b.version + 1, updated_at = now() \
         FROM seed_admissions s \
         WHERE b.tenant_id = $1 AND b.id = s.bed_id AND s.discharge IS NULL",
    )
    .bind(place.tenant)
    .execute(&mut *tx)
    .await?;
    done(
        "statistics, visit history, placements, bed states",
        rows,
        started,
    );
    let started = Instant::now();
    tx.commit().await?;
    done("commit", rows, started);
    let started = Instant::now();
    for table in [
        "patients.patients",
        "patients.identifiers",
        "patients.versions",
        "patients.name_index",
        "patients.name_words",
        "patients.visits",
        "admissions.known_patients",
        "admissions.admissions",
        "admissions.stays",
        "statistics.admissions",
        "statistics.stays",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
            .execute(&mut *owner)
            .await?;
    }
    println!(
        "  vacuum and statistics: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!(
        "seeded {count} patients, {} admissions ({in_beds} in beds now) in {:.1} s",
        planned.len(),
        began.elapsed().as_secs_f64()
    );

    // The services see what was written: a registrar finds a seeded patient by IDNP, and the
    // statistician's census of a seeded ward counts its patients.
    let registrar = login_as(
        channel.clone(),
        target.tenant_code,
        "registrar",
        target.password,
    )
    .await?;
    let g = 1 + count / 2;
    let found = patients_pb::patient_service_client::PatientServiceClient::new(channel.clone())
        .search_patients(signed(
            &registrar,
            patients_pb::SearchPatientsRequest {
                identifier: Some(patients_pb::Identifier {
                    r#type: patients_pb::IdentifierType::NationalId.into(),
                    country: "MD".to_owned(),
                    value: idnp(g)?,
                }),
                ..Default::default()
            },
        ))
        .await?
        .into_inner();
    anyhow::ensure!(
        found.matches.len() == 1,
        "the registry does not find seeded patient {g}"
    );
    let statistician = login_as(
        channel.clone(),
        target.tenant_code,
        "statistician",
        target.password,
    )
    .await?;
    let yesterday = (now - Duration::days(1)).date_naive().to_string();
    let census = statistics_pb::statistics_service_client::StatisticsServiceClient::new(channel)
        .get_daily_census(signed(
            &statistician,
            statistics_pb::GetDailyCensusRequest {
                department_id: wards[0].to_string(),
                date: yesterday.clone(),
            },
        ))
        .await?
        .into_inner()
        .census
        .context("no census")?;
    println!(
        "checked through gRPC: patient {g} found by IDNP; ward S01 on {yesterday}: {} present \
         at the start, {} admitted, {} discharged, {} present at the end, {} beds",
        census.present_at_start,
        census.admitted,
        census.discharged,
        census.present_at_end,
        census.beds_available
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bed_holds_one_patient_at_a_time_and_only_its_last_is_open() {
        let now = Utc::now();
        let planned = plan(40, 365, now);
        let start = now - Duration::days(365);
        for bed in 0..40 {
            let mut stays: Vec<&Planned> = planned.iter().filter(|a| a.bed == bed).collect();
            stays.sort_by_key(|a| a.admit);
            assert!(stays.len() > 20, "a year of a bed holds many patients");
            for pair in stays.windows(2) {
                let end = pair[0].discharge.expect("only the last stay is open");
                assert!(end < pair[1].admit, "stays of one bed overlap");
            }
            for stay in &stays {
                assert!(stay.admit >= start && stay.admit < now);
                assert_eq!(stay.discharge.is_none(), stay.outcome.is_none());
            }
            let last = stays.last().expect("stays");
            assert!(last.discharge.is_none_or(|end| end < now));
        }
        assert!(planned.windows(2).all(|w| w[0].admit <= w[1].admit));
    }

    #[test]
    fn every_admission_has_its_own_patient() {
        for count in [1_000_u64, 1_000_000, 1_000_003 * 2] {
            let stride = stride(count);
            let mut seen = std::collections::HashSet::new();
            for k in 0..1_000_u64 {
                assert!(seen.insert(1 + k.wrapping_mul(stride) % count));
            }
        }
    }
}
