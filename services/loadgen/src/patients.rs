//! Scenario `patients`: the registry holding `patients` records (a million by default), with
//! concurrent gRPC clients searching by identifier and by name and registering, each beside
//! the raw PostgreSQL figure for the same statements over plain connections.
//!
//! The seed is generated inside PostgreSQL (names from syllables, so a million people share
//! a few thousand surnames as in a real country; valid Moldovan IDNPs; birth dates over 90
//! years), and the queries pick people the seed made, by the same formulas.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hmis_patients::domain::national_id::MoldovaIdnp;
use hmis_platform::TenantId;
use hmis_proto::openhmis::patients::v1 as pb;
use pb::patient_service_client::PatientServiceClient;
use prost::Message;
use sqlx::{Connection, PgConnection};

use crate::bench::{Bench, signed};
use crate::report::{Sample, measure_concurrent, print};

const ROOTS: &[&str] = &[
    "Pop", "Rus", "Lung", "Ceb", "Cioban", "Munten", "Mor", "Cojoc", "Băl", "Urs", "Guț", "Botn",
    "Gros", "Rotar", "Melnic", "Sârb", "Țurc", "Căldar", "Negr", "Alb", "Stan", "Rad", "Dobr",
    "Marin", "Opr", "Tudor", "Vasil", "Ion", "Petr", "Grig", "Costin", "Mihail", "Dumitr",
    "Nistor", "Zahari", "Lup", "Croit", "Fier", "Pascal", "Iord",
];
const SUFFIXES: &[&str] = &[
    "escu", "u", "eanu", "an", "ici", "ache", "uc", "ar", "ean", "aru", "enco", "ovici",
];
const MEN: &[&str] = &[
    "Ion",
    "Vasile",
    "Andrei",
    "Mihai",
    "Nicolae",
    "Sergiu",
    "Victor",
    "Dumitru",
    "Alexandru",
    "Petru",
    "Gheorghe",
    "Constantin",
    "Valeriu",
    "Igor",
    "Dan",
    "Radu",
    "Ștefan",
    "Grigore",
    "Vladimir",
    "Iurie",
    "Oleg",
    "Pavel",
    "Tudor",
    "Eugen",
    "Marin",
    "Anatol",
    "Veaceslav",
    "Cristian",
    "Adrian",
    "Octavian",
];
const WOMEN: &[&str] = &[
    "Maria",
    "Elena",
    "Ana",
    "Natalia",
    "Tatiana",
    "Olga",
    "Ecaterina",
    "Galina",
    "Cristina",
    "Ludmila",
    "Svetlana",
    "Irina",
    "Angela",
    "Aurelia",
    "Valentina",
    "Doina",
    "Lilia",
    "Mariana",
    "Victoria",
    "Diana",
    "Oxana",
    "Rodica",
    "Veronica",
    "Silvia",
    "Larisa",
    "Nadejda",
    "Zinaida",
    "Alina",
    "Daniela",
    "Ioana",
];

/// The seed's person `g` (1-based), by the formulas the seeding SQL uses.
pub(crate) struct Person {
    pub family: String,
    pub given: &'static str,
    pub female: bool,
}

pub(crate) fn person(g: u64) -> Person {
    let index = |value: u64, len: usize| usize::try_from(value).unwrap_or(0) % len;
    let female = g % 2 == 1;
    let names = if female { WOMEN } else { MEN };
    Person {
        family: format!(
            "{}{}",
            ROOTS[index(g, ROOTS.len())],
            SUFFIXES[index(g / 40, SUFFIXES.len())]
        ),
        given: names[index(g / 480, names.len())],
        female,
    }
}

fn idnp(g: u64) -> anyhow::Result<String> {
    Ok(MoldovaIdnp::complete(&format!("2{g:011}"))?)
}

/// A cheap deterministic spread of call numbers over the seed (splitmix64).
pub(crate) fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// What a desk types to find person `g`: the full name, a surname prefix, or the full name
/// with one letter wrong.
fn typed_name(g: u64, variant: u64) -> String {
    let person = person(g);
    let family = person.family.to_lowercase();
    match variant % 3 {
        0 => format!("{family} {}", person.given.to_lowercase()),
        1 => family.chars().take(5).collect(),
        _ => {
            let mut chars: Vec<char> = family.chars().collect();
            let at = chars.len() / 2;
            chars[at] = if chars[at] == 'a' { 'e' } else { 'a' };
            format!(
                "{} {}",
                chars.into_iter().collect::<String>(),
                person.given.to_lowercase()
            )
        }
    }
}

/// Fills the registry of `tenant_id` with persons 1..=count, straight into PostgreSQL.
async fn seed(owner: &mut PgConnection, tenant_id: TenantId, count: u32) -> anyhow::Result<()> {
    let started = Instant::now();
    sqlx::query(
        "CREATE FUNCTION pg_temp.idnp(body text) RETURNS text LANGUAGE sql IMMUTABLE AS $$ \
         SELECT body || (SELECT sum(substr(body, i, 1)::int * (ARRAY[7, 3, 1])[(i - 1) % 3 + 1]) \
                         % 10 FROM generate_series(1, 12) i)::text $$",
    )
    .execute(&mut *owner)
    .await?;
    // The search projection is filled in bulk below, as its migration backfills it, rather
    // than by its trigger a million times.
    sqlx::query("ALTER TABLE patients.patients DISABLE TRIGGER index_patient")
        .execute(&mut *owner)
        .await?;
    // The same formulas as `person` and `idnp`: arrays are 1-based.
    sqlx::query(
        "INSERT INTO patients.patients (tenant_id, id, mrn, family_name, given_names, sex, \
             birth_date, created_at, updated_at) \
         SELECT $1, gen_random_uuid(), lpad(g::text, 8, '0'), \
                ($2::text[])[1 + g % 40] || ($3::text[])[1 + (g / 40) % 12], \
                CASE WHEN g % 2 = 1 THEN ($5::text[])[1 + (g / 480) % 30] \
                     ELSE ($4::text[])[1 + (g / 480) % 30] END, \
                CASE WHEN g % 2 = 1 THEN 'female' ELSE 'male' END, \
                date '1935-01-01' + ((g * 7919) % 32850)::int, now(), now() \
         FROM generate_series(1, $6::bigint) g",
    )
    .bind(tenant_id.as_uuid())
    .bind(ROOTS)
    .bind(SUFFIXES)
    .bind(MEN)
    .bind(WOMEN)
    .bind(i64::from(count))
    .execute(&mut *owner)
    .await?;
    sqlx::query("ALTER TABLE patients.patients ENABLE TRIGGER index_patient")
        .execute(&mut *owner)
        .await?;
    sqlx::query(
        "INSERT INTO patients.name_index (tenant_id, patient_id, search_name, birth_date, sex, \
             confidential, active) \
         SELECT tenant_id, id, search_name, birth_date, sex, confidential, true \
         FROM patients.patients WHERE tenant_id = $1",
    )
    .bind(tenant_id.as_uuid())
    .execute(&mut *owner)
    .await?;
    sqlx::query(
        "INSERT INTO patients.name_words (tenant_id, word) \
         SELECT DISTINCT tenant_id, word FROM patients.name_index, unnest(words) AS word \
         WHERE tenant_id = $1 ON CONFLICT DO NOTHING",
    )
    .bind(tenant_id.as_uuid())
    .execute(&mut *owner)
    .await?;
    sqlx::query(
        "INSERT INTO patients.identifiers (tenant_id, patient_id, type, country, value) \
         SELECT tenant_id, id, 'national_id', 'MD', pg_temp.idnp('2' || lpad(mrn, 11, '0')) \
         FROM patients.patients WHERE tenant_id = $1",
    )
    .bind(tenant_id.as_uuid())
    .execute(&mut *owner)
    .await?;
    sqlx::query(
        "INSERT INTO patients.mrn_counters (tenant_id, next_mrn) VALUES ($1, $2) \
         ON CONFLICT (tenant_id) DO UPDATE SET next_mrn = EXCLUDED.next_mrn",
    )
    .bind(tenant_id.as_uuid())
    .bind(i64::from(count) + 1)
    .execute(&mut *owner)
    .await?;
    sqlx::query("VACUUM ANALYZE patients.patients")
        .execute(&mut *owner)
        .await?;
    for table in [
        "patients.identifiers",
        "patients.name_index",
        "patients.name_words",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!("VACUUM ANALYZE {table}")))
            .execute(&mut *owner)
            .await?;
    }
    println!(
        "seeded {count} patients with their national ids in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub async fn run(count: u32, clients: usize, iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[("bench-desk", "registrar")]).await?;
    let (db, tenant_id) = (&bench.db, bench.tenant_id);
    let mut owner = PgConnection::connect_with(&db.owner_options()).await?;
    seed(&mut owner, tenant_id, count).await?;
    let authorization = bench.login("bench-desk").await?;
    let channels = bench.connections(clients).await?;
    let calls = (iterations / clients).max(1);
    let seeded = u64::from(count);
    let mut samples: Vec<Sample> = Vec::new();

    let by_identifier = {
        let channels = channels.clone();
        let authorization = authorization.clone();
        move |client: usize, n: usize| {
            let mut patients = PatientServiceClient::new(channels[client].clone());
            let authorization = authorization.clone();
            async move {
                let g = 1 + mix((client * 1_000_003 + n) as u64) % seeded;
                let found = patients
                    .search_patients(signed(
                        &authorization,
                        pb::SearchPatientsRequest {
                            identifier: Some(pb::Identifier {
                                r#type: pb::IdentifierType::NationalId.into(),
                                country: "MD".to_owned(),
                                value: idnp(g)?,
                            }),
                            ..Default::default()
                        },
                    ))
                    .await?
                    .into_inner();
                anyhow::ensure!(found.matches.len() == 1, "identifier of {g} not found");
                Ok(())
            }
        }
    };
    // Warm the connections, pools and the identifier index.
    measure_concurrent("warm-up", clients, calls / 10 + 1, by_identifier.clone()).await?;
    samples.push(
        measure_concurrent(
            "gRPC SearchPatients by national id",
            clients,
            calls,
            by_identifier,
        )
        .await?,
    );

    let by_name = {
        let channels = channels.clone();
        let authorization = authorization.clone();
        move |client: usize, n: usize| {
            let mut patients = PatientServiceClient::new(channels[client].clone());
            let authorization = authorization.clone();
            async move {
                let seed = mix((client * 1_000_003 + n) as u64 + 77);
                let g = 1 + seed % seeded;
                patients
                    .search_patients(signed(
                        &authorization,
                        pb::SearchPatientsRequest {
                            name: typed_name(g, seed / 7),
                            page_size: 20,
                            ..Default::default()
                        },
                    ))
                    .await?;
                Ok(())
            }
        }
    };
    measure_concurrent("warm-up", clients, calls / 10 + 1, by_name.clone()).await?;
    samples.push(
        measure_concurrent(
            "gRPC SearchPatients by name (full, prefix, typo), 20/page",
            clients,
            calls,
            by_name,
        )
        .await?,
    );

    let register = {
        let channels = channels.clone();
        let authorization = authorization.clone();
        move |client: usize, n: usize| {
            let mut patients = PatientServiceClient::new(channels[client].clone());
            let authorization = authorization.clone();
            async move {
                // New people beyond the seed: their own IDNPs, names the seed also uses.
                let g = seeded + 1 + (client * calls + n) as u64;
                patients
                    .register_patient(signed(
                        &authorization,
                        pb::RegisterPatientRequest {
                            request_id: format!("bench-{g}"),
                            patient: Some(newcomer(g)?),
                            confirm_new_patient: false,
                        },
                    ))
                    .await?;
                Ok(())
            }
        }
    };
    samples.push(
        measure_concurrent(
            "gRPC RegisterPatient (duplicate check, audit, version, event)",
            clients,
            calls,
            register,
        )
        .await?,
    );
    // The registrations made (`--duration` may stop them before all planned calls), less the
    // records they added.
    let registered = samples[2].latencies.len();
    let candidates: i64 = sqlx::query_scalar(
        "SELECT $1::bigint - count(*) FROM patients.patients WHERE mrn > lpad($2::text, 8, '0')",
    )
    .bind(i64::try_from(registered)?)
    .bind(count.to_string())
    .fetch_one(&mut owner)
    .await?;

    // The raw PostgreSQL figures: the same writes over plain connections (one per client, as
    // the table owner: no pool, no tenant settings, no row-level security): a search's read
    // and its audit record; a registration's patient, identifier, first version, audit record
    // and outbox event. What differs from the service is our overhead, not the hospital's work.
    let mut raw = Vec::new();
    for _ in 0..clients {
        raw.push(Arc::new(tokio::sync::Mutex::new(
            PgConnection::connect_with(&db.owner_options()).await?,
        )));
    }
    let raw = Arc::new(raw);
    let tenant = tenant_id.as_uuid();
    let raw_identifier = {
        let raw = raw.clone();
        move |client: usize, n: usize| {
            let raw = raw.clone();
            async move {
                let g = 1 + mix((client * 1_000_003 + n) as u64) % seeded;
                let mut connection = raw[client].lock().await;
                let mut tx = connection.begin().await?;
                let found: Vec<(uuid::Uuid,)> = sqlx::query_as(
                    "SELECT p.id FROM patients.patients p WHERE p.tenant_id = $1 AND EXISTS \
                     (SELECT FROM patients.identifiers i WHERE i.tenant_id = p.tenant_id \
                      AND i.patient_id = p.id AND i.type = 'national_id' AND i.country = 'MD' \
                      AND i.value = $2)",
                )
                .bind(tenant)
                .bind(idnp(g)?)
                .fetch_all(&mut *tx)
                .await?;
                anyhow::ensure!(found.len() == 1, "identifier of {g} not found");
                // The access on record, as every read of a patient is.
                audit_record(&mut tx, tenant, "SearchPatients", found[0].0).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    samples.push(
        measure_concurrent(
            "raw PostgreSQL: the identifier lookup, its audit record, COMMIT",
            clients,
            calls,
            raw_identifier,
        )
        .await?,
    );
    let raw_name = {
        let raw = raw.clone();
        move |client: usize, n: usize| {
            let raw = raw.clone();
            async move {
                let seed = mix((client * 1_000_003 + n) as u64 + 77);
                let name = typed_name(1 + seed % seeded, seed / 7);
                let mut connection = raw[client].lock().await;
                let mut tx = connection.begin().await?;
                sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
                    .bind(tenant.to_string())
                    .execute(&mut *tx)
                    .await?;
                sqlx::query(
                    "SELECT p.id, m.score \
                     FROM patients.find_by_name($2, 0, 21, NULL, NULL, NULL, false, NULL, NULL) m \
                     JOIN patients.patients p ON p.tenant_id = $1 AND p.id = m.patient_id \
                     ORDER BY m.rank",
                )
                .bind(tenant)
                .bind(name)
                .fetch_all(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    samples.push(
        measure_concurrent(
            "raw PostgreSQL: the name search statement",
            clients,
            calls,
            raw_name,
        )
        .await?,
    );
    let raw_insert = {
        let raw = raw.clone();
        move |client: usize, n: usize| {
            let raw = raw.clone();
            async move {
                let g = seeded + 10_000_000 + (client * calls + n) as u64;
                let person = person(g);
                let birth = birth_date(g)?;
                let mut connection = raw[client].lock().await;
                let mut tx = connection.begin().await?;
                let id = uuid::Uuid::now_v7();
                sqlx::query(
                    "INSERT INTO patients.patients (tenant_id, id, mrn, family_name, \
                     given_names, sex, birth_date, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, now(), now())",
                )
                .bind(tenant)
                .bind(id)
                .bind(format!("R{g:08}"))
                .bind(&person.family)
                .bind(person.given)
                .bind(if person.female { "female" } else { "male" })
                .bind(birth)
                .execute(&mut *tx)
                .await?;
                sqlx::query(
                    "INSERT INTO patients.identifiers (tenant_id, patient_id, type, country, \
                     value) VALUES ($1, $2, 'national_id', 'MD', $3)",
                )
                .bind(tenant)
                .bind(id)
                .bind(idnp(g)?)
                .execute(&mut *tx)
                .await?;
                // The record's first version, the access on record, and the event the other
                // modules follow: the registry's own snapshot and event, so the followers
                // (admissions, billing, the laboratory...) do for these patients the work
                // they do for the service's, as they would in a hospital.
                let patient = pb::Patient {
                    id: id.to_string(),
                    mrn: format!("R{g:08}"),
                    etag: "\"1\"".to_owned(),
                    ..newcomer(g)?
                };
                let snapshot = patient.encode_to_vec();
                let event = pb::PatientChanged {
                    patient: Some(patient),
                    kind: pb::ChangeKind::Registered.into(),
                    changed_fields: Vec::new(),
                }
                .encode_to_vec();
                sqlx::query(
                    "INSERT INTO patients.versions (tenant_id, patient_id, version, kind, \
                     changed_fields, changed_by, changed_at, snapshot) \
                     VALUES ($1, $2, 1, 'registered', '{}', $3, now(), $4)",
                )
                .bind(tenant)
                .bind(id)
                .bind(uuid::Uuid::nil())
                .bind(&snapshot)
                .execute(&mut *tx)
                .await?;
                audit_record(&mut tx, tenant, "RegisterPatient", id).await?;
                sqlx::query(
                    "INSERT INTO patients.outbox (tenant_id, event_id, event_type, \
                     aggregate_id, payload, occurred_at) VALUES ($1, $2, \
                     'openhmis.patients.v1.PatientChanged', $3, $4, now())",
                )
                .bind(tenant)
                .bind(uuid::Uuid::now_v7())
                .bind(id.to_string())
                .bind(&event)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
    samples.push(
        measure_concurrent(
            "raw PostgreSQL: patient, identifier, version, audit, event, COMMIT",
            clients,
            calls,
            raw_insert,
        )
        .await?,
    );

    println!(
        "\nscenario patients: {count} patients seeded, {clients} concurrent clients, \
         {calls} calls each per variant\n"
    );
    print(&samples);
    println!(
        "\n  => registrations answered with duplicate candidates instead: {candidates} of {registered}",
    );
    println!(
        "  => registration: {:.0} patients/s through gRPC vs {:.0}/s raw PostgreSQL doing the same writes",
        samples[2].throughput(),
        samples[5].throughput()
    );

    drop(channels);
    bench.stop().await?;
    Ok(())
}

/// Person `g`'s birth date (over 90 years from 1935), as the seed spreads them.
fn birth_date(g: u64) -> anyhow::Result<chrono::NaiveDate> {
    Ok(chrono::NaiveDate::from_ymd_opt(1935, 1, 1).context("date")?
        + chrono::Days::new(mix(g) % 32_850))
}

/// Person `g` as the desk registers them: name, sex, birth date and national id.
fn newcomer(g: u64) -> anyhow::Result<pb::Patient> {
    let person = person(g);
    Ok(pb::Patient {
        family_name: person.family.clone(),
        given_names: person.given.to_owned(),
        sex: if person.female {
            pb::Sex::Female
        } else {
            pb::Sex::Male
        }
        .into(),
        birth_date: birth_date(g)?.format("%Y-%m-%d").to_string(),
        identifiers: vec![pb::Identifier {
            r#type: pb::IdentifierType::NationalId.into(),
            country: "MD".to_owned(),
            value: idnp(g)?,
        }],
        ..Default::default()
    })
}

/// An audit record of `method` about `patient`, as the service writes one.
pub(crate) async fn audit_record(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    tenant: uuid::Uuid,
    method: &str,
    patient: uuid::Uuid,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO audit.records (tenant_id, record_id, occurred_at, user_id, username, \
         method, patient_ids, resource_ids, outcome, client_addr, request_id, \
         break_glass_reason) VALUES ($1, $2, now(), $3, 'bench-registrar', $4, $5, '{}', 'OK', \
         '127.0.0.1', $6, '')",
    )
    .bind(tenant)
    .bind(uuid::Uuid::now_v7())
    .bind(uuid::Uuid::nil())
    .bind(format!("/openhmis.patients.v1.PatientService/{method}"))
    .bind(vec![patient])
    .bind(uuid::Uuid::new_v4().to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
