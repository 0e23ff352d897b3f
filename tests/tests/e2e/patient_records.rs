//! The patient record over real gRPC, past registration: the full record, probable duplicates,
//! updates kept as versions, merge and unmerge announced as events, confidential records and
//! ward-scoped reads.

use crate::support;

use hmis_platform::auth::Scope;
use hmis_proto::openhmis::patients::v1 as pb;
use pb::patient_service_client::PatientServiceClient;
use prost::Message;
use prost_types::FieldMask;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, USER_PASSWORD, signed_in, violated_fields};
use tonic::Code;

fn client(app: &TestApp) -> PatientServiceClient<tonic::transport::Channel> {
    PatientServiceClient::new(app.channel.clone())
}

fn person(family: &str, given: &str, sex: pb::Sex, born: &str) -> pb::Patient {
    pb::Patient {
        family_name: family.to_owned(),
        given_names: given.to_owned(),
        sex: sex.into(),
        birth_date: born.to_owned(),
        ..Default::default()
    }
}

fn passport(number: &str) -> pb::Identifier {
    pb::Identifier {
        r#type: pb::IdentifierType::Passport.into(),
        country: "MD".to_owned(),
        value: number.to_owned(),
    }
}

async fn register_as(
    app: &TestApp,
    session: &Session,
    request_id: &str,
    patient: pb::Patient,
    confirm_new_patient: bool,
) -> Result<pb::RegisterPatientResponse, tonic::Status> {
    client(app)
        .register_patient(signed_in(
            session,
            pb::RegisterPatientRequest {
                request_id: request_id.to_owned(),
                patient: Some(patient),
                confirm_new_patient,
            },
        ))
        .await
        .map(tonic::Response::into_inner)
}

async fn register(
    app: &TestApp,
    session: &Session,
    request_id: &str,
    patient: pb::Patient,
) -> pb::Patient {
    register_as(app, session, request_id, patient, false)
        .await
        .expect("register")
        .patient
        .expect("registered, no candidates")
}

async fn get(app: &TestApp, session: &Session, id: &str) -> Result<pb::Patient, tonic::Status> {
    client(app)
        .get_patient(signed_in(
            session,
            pb::GetPatientRequest { id: id.to_owned() },
        ))
        .await
        .map(|response| response.into_inner().patient.expect("patient"))
}

async fn update(
    app: &TestApp,
    session: &Session,
    request_id: &str,
    patient: pb::Patient,
    paths: &[&str],
) -> Result<pb::Patient, tonic::Status> {
    client(app)
        .update_patient(signed_in(
            session,
            pb::UpdatePatientRequest {
                request_id: request_id.to_owned(),
                patient: Some(patient),
                update_mask: Some(FieldMask {
                    paths: paths.iter().map(|path| (*path).to_owned()).collect(),
                }),
            },
        ))
        .await
        .map(|response| response.into_inner().patient.expect("patient"))
}

async fn search(
    app: &TestApp,
    session: &Session,
    request: pb::SearchPatientsRequest,
) -> pb::SearchPatientsResponse {
    client(app)
        .search_patients(signed_in(session, request))
        .await
        .expect("search")
        .into_inner()
}

/// A tenant with a registrar ("desk", tenant-wide) and a records officer ("records").
async fn hospital(app: &TestApp) -> (Session, Session, PgConnection) {
    let admin = app.create_tenant("H1").await;
    app.add_user(admin.tenant_id, "desk", "registrar", Scope::Tenant)
        .await;
    app.add_user(admin.tenant_id, "records", "records", Scope::Tenant)
        .await;
    let desk = app.login("H1", "desk", USER_PASSWORD).await.expect("desk");
    let records = app
        .login("H1", "records", USER_PASSWORD)
        .await
        .expect("records officer");
    let owner = PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner");
    (desk, records, owner)
}

async fn events(owner: &mut PgConnection, event_type: &str) -> Vec<Vec<u8>> {
    sqlx::query_scalar("SELECT payload FROM patients.outbox WHERE event_type = $1 ORDER BY id")
        .bind(event_type)
        .fetch_all(owner)
        .await
        .expect("outbox")
}

#[tokio::test]
async fn the_whole_record_round_trips_and_probable_duplicates_come_back_first() {
    let app = TestApp::spawn().await;
    let (desk, _, mut owner) = hospital(&app).await;
    let full = pb::Patient {
        patronymic: "Vasile".to_owned(),
        citizenship: "md".to_owned(),
        address: Some(pb::Address {
            country: "MD".to_owned(),
            region: "Chișinău".to_owned(),
            locality: "Chișinău".to_owned(),
            street: "str. Ștefan cel Mare 1, ap. 5".to_owned(),
            postal_code: "MD-2001".to_owned(),
        }),
        phones: vec!["+373 69 123 456".to_owned()],
        occupation: "teacher".to_owned(),
        marital_status: pb::MaritalStatus::Married.into(),
        language: "RO".to_owned(),
        contacts: vec![pb::ContactPerson {
            name: "Maria Rusu".to_owned(),
            relationship: "spouse".to_owned(),
            phone: "069 000 111".to_owned(),
            next_of_kin: true,
            companion: true,
        }],
        insurance_policies: vec![pb::InsurancePolicy {
            insurer: "CNAM".to_owned(),
            number: "a-123 456".to_owned(),
            valid_from: "2026-01-01".to_owned(),
            valid_until: "2026-12-31".to_owned(),
            rank: pb::InsuranceRank::Primary.into(),
        }],
        unpaid_debt: true,
        photo_ref: "documents/photos/1".to_owned(),
        identifiers: vec![passport("AB123456")],
        ..person("Rusu", "Ion", pb::Sex::Male, "1980-05-20")
    };
    let ion = register(&app, &desk, "ion", full).await;
    assert_eq!(ion.citizenship, "MD", "normalised");
    assert_eq!(ion.language, "ro");
    assert_eq!(ion.insurance_policies[0].number, "A123456");
    assert_eq!(ion.age_years, 46);
    assert_eq!(get(&app, &desk, &ion.id).await.expect("read"), ion);

    // The same person again without the passport: the desk sees Ion (and his debt) first,
    // nothing is written, and the request id stays free.
    let again = register_as(
        &app,
        &desk,
        "ion-again",
        person("RUSU", "ion", pb::Sex::Male, "1980-05-20"),
        false,
    )
    .await
    .expect("candidates");
    assert!(again.patient.is_none());
    let candidate = again.duplicate_candidates[0]
        .patient
        .clone()
        .expect("candidate");
    assert_eq!(
        (candidate.mrn.as_str(), candidate.unpaid_debt),
        (ion.mrn.as_str(), true)
    );
    // A close spelling is a candidate too; another sex or birth date is not.
    let close = register_as(
        &app,
        &desk,
        "close",
        person("Rusu", "Ioan", pb::Sex::Male, "1980-05-20"),
        false,
    )
    .await
    .expect("candidates");
    assert_eq!(close.duplicate_candidates.len(), 1);
    let other_day = register_as(
        &app,
        &desk,
        "other-day",
        person("Rusu", "Ion", pb::Sex::Male, "1981-05-20"),
        false,
    )
    .await
    .expect("registered");
    assert!(other_day.patient.is_some() && other_day.duplicate_candidates.is_empty());
    // The desk confirms it is someone else (same request id: the first try wrote nothing).
    let confirmed = register_as(
        &app,
        &desk,
        "ion-again",
        person("RUSU", "ion", pb::Sex::Male, "1980-05-20"),
        true,
    )
    .await
    .expect("confirmed");
    assert!(confirmed.patient.is_some());

    // The passport on file answers with its holder's MRN and the debt warning.
    let taken = register_as(
        &app,
        &desk,
        "passport",
        pb::Patient {
            identifiers: vec![passport("ab 123456")],
            ..person("Popa", "Petru", pb::Sex::Male, "1990-01-01")
        },
        false,
    )
    .await
    .expect_err("passport on file");
    assert_eq!(taken.code(), Code::AlreadyExists);
    assert!(taken.message().contains(&ion.mrn), "{}", taken.message());
    assert!(
        taken.message().contains("unpaid debt"),
        "{}",
        taken.message()
    );

    // Bad parts of the record are named, and nothing is written.
    let before: i64 = sqlx::query_scalar("SELECT count(*) FROM patients.patients")
        .fetch_one(&mut owner)
        .await
        .expect("count");
    let bad = register_as(
        &app,
        &desk,
        "bad",
        pb::Patient {
            phones: vec!["call me".to_owned()],
            marital_status: 42,
            language: "romanian".to_owned(),
            contacts: vec![
                pb::ContactPerson {
                    name: "A".to_owned(),
                    next_of_kin: true,
                    ..Default::default()
                },
                pb::ContactPerson {
                    name: "B".to_owned(),
                    next_of_kin: true,
                    ..Default::default()
                },
            ],
            insurance_policies: vec![pb::InsurancePolicy {
                insurer: "CNAM".to_owned(),
                number: "1".to_owned(),
                valid_from: "2026-02-01".to_owned(),
                valid_until: "2026-01-01".to_owned(),
                rank: pb::InsuranceRank::Unspecified.into(),
            }],
            deceased: true,
            occupation: "x".repeat(201),
            ..person("Nou", "Pacient", pb::Sex::Female, "2000-01-01")
        },
        true,
    )
    .await
    .expect_err("bad record");
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&bad),
        [
            "patient.phones[0]",
            "patient.occupation",
            "patient.marital_status",
            "patient.language",
            "patient.insurance_policies[0].rank",
            "patient.insurance_policies[0].valid_until",
            "patient.death_date",
        ]
    );
    let two_next_of_kin = register_as(
        &app,
        &desk,
        "kin",
        pb::Patient {
            contacts: vec![
                pb::ContactPerson {
                    name: "Ana".to_owned(),
                    next_of_kin: true,
                    ..Default::default()
                },
                pb::ContactPerson {
                    name: "Dan".to_owned(),
                    next_of_kin: true,
                    ..Default::default()
                },
            ],
            ..person("Nou", "Pacient", pb::Sex::Female, "2000-01-01")
        },
        true,
    )
    .await
    .expect_err("two next of kin");
    assert_eq!(violated_fields(&two_next_of_kin), ["patient.contacts"]);
    let after: i64 = sqlx::query_scalar("SELECT count(*) FROM patients.patients")
        .fetch_one(&mut owner)
        .await
        .expect("count");
    assert_eq!(after, before);

    // Showing candidates is an access to their records, and it is on record.
    let shown: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records WHERE method LIKE '%/RegisterPatient' \
         AND $1 = ANY(patient_ids)",
    )
    .bind(ion.id.parse::<uuid::Uuid>().expect("uuid"))
    .fetch_one(&mut owner)
    .await
    .expect("audit");
    assert_eq!(shown, 3, "registered, then shown twice as a candidate");
    app.stop().await;
}

#[tokio::test]
async fn desks_racing_to_register_one_unidentified_person_make_one_record() {
    let app = TestApp::spawn().await;
    let (desk, _, mut owner) = hospital(&app).await;
    let unknown = pb::Patient {
        birth_date_estimated: true,
        ..person("Necunoscut", "Femeie", pb::Sex::Female, "1946-01-01")
    };
    let attempts = (0..8).map(|n| {
        let request = signed_in(
            &desk,
            pb::RegisterPatientRequest {
                request_id: format!("ambulance-{n}"),
                patient: Some(unknown.clone()),
                confirm_new_patient: false,
            },
        );
        let mut client = client(&app);
        async move { client.register_patient(request).await }
    });
    let answers: Vec<pb::RegisterPatientResponse> = futures::future::join_all(attempts)
        .await
        .into_iter()
        .map(|answer| answer.expect("answer").into_inner())
        .collect();
    let registered: Vec<&pb::Patient> = answers.iter().filter_map(|a| a.patient.as_ref()).collect();
    assert_eq!(registered.len(), 1);
    for answer in answers.iter().filter(|answer| answer.patient.is_none()) {
        assert_eq!(
            answer.duplicate_candidates[0]
                .patient
                .as_ref()
                .map(|p| &p.id),
            Some(&registered[0].id)
        );
    }
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM patients.patients")
        .fetch_one(&mut owner)
        .await
        .expect("count");
    assert_eq!(count, 1);
    app.stop().await;
}

#[tokio::test]
async fn updates_need_the_current_etag_and_every_version_is_kept() {
    let app = TestApp::spawn().await;
    let (desk, _, mut owner) = hospital(&app).await;
    let ana = register(
        &app,
        &desk,
        "ana",
        pb::Patient {
            identifiers: vec![passport("X1")],
            ..person("Lungu", "Ana", pb::Sex::Female, "1975-03-03")
        },
    )
    .await;
    assert_eq!(ana.etag, "\"1\"");

    let married = update(
        &app,
        &desk,
        "u1",
        pb::Patient {
            id: ana.id.clone(),
            etag: ana.etag.clone(),
            family_name: "Lungu-Rusu".to_owned(),
            marital_status: pb::MaritalStatus::Married.into(),
            // Not in the mask: ignored.
            given_names: "Ignored".to_owned(),
            ..Default::default()
        },
        &["family_name", "marital_status"],
    )
    .await
    .expect("update");
    assert_eq!(
        (married.family_name.as_str(), married.given_names.as_str()),
        ("Lungu-Rusu", "Ana")
    );
    assert_eq!(married.etag, "\"2\"");
    assert_eq!(married.identifiers, ana.identifiers);

    // A desk still holding version 1 is told to read again; nothing changes.
    let stale = update(
        &app,
        &desk,
        "u2",
        pb::Patient {
            id: ana.id.clone(),
            etag: ana.etag.clone(),
            occupation: "nurse".to_owned(),
            ..Default::default()
        },
        &["occupation"],
    )
    .await
    .expect_err("stale");
    assert_eq!(stale.code(), Code::Aborted);

    // Bad values and unknown paths are named; nothing changes.
    let bad = update(
        &app,
        &desk,
        "u3",
        pb::Patient {
            id: ana.id.clone(),
            etag: married.etag.clone(),
            deceased: true,
            death_date: "1970-01-01".to_owned(),
            ..Default::default()
        },
        &["deceased", "death_date", "mrn"],
    )
    .await
    .expect_err("bad");
    assert_eq!(violated_fields(&bad), ["update_mask"]);
    let before_birth = update(
        &app,
        &desk,
        "u4",
        pb::Patient {
            id: ana.id.clone(),
            etag: married.etag.clone(),
            deceased: true,
            death_date: "1970-01-01".to_owned(),
            ..Default::default()
        },
        &["deceased", "death_date"],
    )
    .await
    .expect_err("death before birth");
    assert_eq!(violated_fields(&before_birth), ["patient.death_date"]);

    // Identifiers are replaced as a set.
    let documents = update(
        &app,
        &desk,
        "u5",
        pb::Patient {
            id: ana.id.clone(),
            etag: married.etag.clone(),
            identifiers: vec![
                passport("X2"),
                pb::Identifier {
                    r#type: pb::IdentifierType::NationalId.into(),
                    country: "MD".to_owned(),
                    value: "2002001234567".to_owned(),
                },
            ],
            ..Default::default()
        },
        &["identifiers"],
    )
    .await;
    // 2002001234567 is not a valid IDNP: refused, named.
    assert_eq!(
        violated_fields(&documents.expect_err("bad IDNP")),
        ["patient.identifiers[1].value"]
    );
    let documents = update(
        &app,
        &desk,
        "u6",
        pb::Patient {
            id: ana.id.clone(),
            etag: married.etag.clone(),
            identifiers: vec![passport("X2")],
            ..Default::default()
        },
        &["identifiers"],
    )
    .await
    .expect("new passport");
    assert_eq!(documents.identifiers, vec![passport("X2")]);

    // Saving what is already there writes no version.
    let same = update(
        &app,
        &desk,
        "u7",
        pb::Patient {
            id: ana.id.clone(),
            etag: documents.etag.clone(),
            occupation: String::new(),
            ..Default::default()
        },
        &["occupation"],
    )
    .await
    .expect("no-op");
    assert_eq!(same.etag, documents.etag);

    let history = client(&app)
        .list_patient_versions(signed_in(
            &desk,
            pb::ListPatientVersionsRequest {
                patient_id: ana.id.clone(),
                page_size: 2,
                page_token: String::new(),
            },
        ))
        .await
        .expect("history")
        .into_inner();
    let summary: Vec<(i64, pb::ChangeKind, Vec<String>)> = history
        .versions
        .iter()
        .map(|version| {
            (
                version.version,
                version.kind(),
                version.changed_fields.clone(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (3, pb::ChangeKind::Updated, vec!["identifiers".to_owned()]),
            (
                2,
                pb::ChangeKind::Updated,
                vec!["family_name".to_owned(), "marital_status".to_owned()]
            ),
        ]
    );
    assert_eq!(
        history.versions[1]
            .patient
            .as_ref()
            .map(|p| p.family_name.as_str()),
        Some("Lungu-Rusu")
    );
    let first = client(&app)
        .list_patient_versions(signed_in(
            &desk,
            pb::ListPatientVersionsRequest {
                patient_id: ana.id.clone(),
                page_size: 2,
                page_token: history.next_page_token.clone(),
            },
        ))
        .await
        .expect("older")
        .into_inner();
    assert_eq!(first.versions.len(), 1);
    assert_eq!(first.versions[0].kind(), pb::ChangeKind::Registered);
    assert_eq!(
        first.versions[0]
            .patient
            .as_ref()
            .map(|p| p.family_name.as_str()),
        Some("Lungu")
    );
    assert!(first.next_page_token.is_empty());

    // Each version was announced, with what changed.
    let changes: Vec<pb::PatientChanged> =
        events(&mut owner, "openhmis.patients.v1.PatientChanged")
            .await
            .iter()
            .map(|payload| pb::PatientChanged::decode(payload.as_slice()).expect("event"))
            .collect();
    assert_eq!(changes.len(), 3);
    assert_eq!(changes[2].changed_fields, ["identifiers"]);
    app.stop().await;
}

#[tokio::test]
async fn a_merge_moves_identifiers_to_the_survivor_and_an_unmerge_gives_them_back() {
    let app = TestApp::spawn().await;
    let (desk, records, mut owner) = hospital(&app).await;
    let survivor = register(
        &app,
        &desk,
        "s",
        pb::Patient {
            identifiers: vec![passport("S1")],
            ..person("Ceban", "Vlad", pb::Sex::Male, "1960-06-06")
        },
    )
    .await;
    // The same man registered unconscious, before anyone knew him.
    let duplicate = register(
        &app,
        &desk,
        "d",
        pb::Patient {
            identifiers: vec![passport("D1")],
            birth_date_estimated: true,
            ..person("Necunoscut", "Bărbat", pb::Sex::Unknown, "1960-01-01")
        },
    )
    .await;
    let merge_request = pb::MergePatientsRequest {
        request_id: "m1".to_owned(),
        survivor_id: survivor.id.clone(),
        survivor_etag: survivor.etag.clone(),
        merged_id: duplicate.id.clone(),
        merged_etag: duplicate.etag.clone(),
        reason: "same person, identified by his daughter".to_owned(),
    };
    let refused = client(&app)
        .merge_patients(signed_in(&desk, merge_request.clone()))
        .await
        .expect_err("registrars do not merge");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let merged = client(&app)
        .merge_patients(signed_in(&records, merge_request.clone()))
        .await
        .expect("merge")
        .into_inner();
    let kept = merged.survivor.expect("survivor");
    let gone = merged.merged.expect("merged");
    assert_eq!(kept.identifiers, vec![passport("D1"), passport("S1")]);
    assert!(gone.identifiers.is_empty());
    assert_eq!(gone.merged_into_id, survivor.id);
    // A retried merge answers the same; it does not merge twice.
    let retried = client(&app)
        .merge_patients(signed_in(&records, merge_request))
        .await
        .expect("retry")
        .into_inner();
    assert_eq!(retried.merge_id, merged.merge_id);

    // The duplicate's document now finds the survivor; name searches skip the duplicate.
    let found = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            identifier: Some(passport("D1")),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        found.matches[0].patient.as_ref().map(|p| p.id.clone()),
        Some(survivor.id.clone())
    );
    let by_name = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            name: "necunoscut".to_owned(),
            ..Default::default()
        },
    )
    .await;
    assert!(by_name.matches.is_empty());
    // The merged-away record cannot be edited.
    let edit = update(
        &app,
        &desk,
        "edit-gone",
        pb::Patient {
            id: gone.id.clone(),
            etag: gone.etag.clone(),
            occupation: "driver".to_owned(),
            ..Default::default()
        },
        &["occupation"],
    )
    .await
    .expect_err("merged away");
    assert_eq!(edit.code(), Code::FailedPrecondition);
    assert!(edit.message().contains(&survivor.id));

    let merge_events: Vec<pb::PatientsMerged> =
        events(&mut owner, "openhmis.patients.v1.PatientsMerged")
            .await
            .iter()
            .map(|payload| pb::PatientsMerged::decode(payload.as_slice()).expect("event"))
            .collect();
    assert_eq!(merge_events.len(), 1);
    assert_eq!(
        (
            merge_events[0].survivor_id.as_str(),
            merge_events[0].merged_id.as_str()
        ),
        (survivor.id.as_str(), duplicate.id.as_str())
    );

    // Meanwhile the survivor got a new document; the unmerge takes back only what moved.
    let kept = update(
        &app,
        &desk,
        "new-doc",
        pb::Patient {
            id: kept.id.clone(),
            etag: kept.etag.clone(),
            identifiers: vec![passport("D1"), passport("S1"), passport("S2")],
            ..Default::default()
        },
        &["identifiers"],
    )
    .await
    .expect("survivor edited");
    let unmerged = client(&app)
        .unmerge_patient(signed_in(
            &records,
            pb::UnmergePatientRequest {
                request_id: "u1".to_owned(),
                merged_id: duplicate.id.clone(),
                reason: "the daughter was wrong".to_owned(),
            },
        ))
        .await
        .expect("unmerge")
        .into_inner();
    let restored = unmerged.restored.expect("restored");
    assert_eq!(restored.identifiers, vec![passport("D1")]);
    assert!(restored.merged_into_id.is_empty());
    assert_eq!(
        unmerged.survivor.expect("survivor").identifiers,
        vec![passport("S1"), passport("S2")]
    );
    assert_ne!(kept.etag, "");
    let again = client(&app)
        .unmerge_patient(signed_in(
            &records,
            pb::UnmergePatientRequest {
                request_id: "u2".to_owned(),
                merged_id: duplicate.id.clone(),
                reason: "twice".to_owned(),
            },
        ))
        .await
        .expect_err("not merged any more");
    assert_eq!(again.code(), Code::FailedPrecondition);
    assert_eq!(
        events(&mut owner, "openhmis.patients.v1.PatientsUnmerged")
            .await
            .len(),
        1
    );
    let kinds: Vec<String> = sqlx::query_scalar(
        "SELECT kind FROM patients.versions WHERE patient_id = $1 ORDER BY version",
    )
    .bind(duplicate.id.parse::<uuid::Uuid>().expect("uuid"))
    .fetch_all(&mut owner)
    .await
    .expect("versions");
    assert_eq!(kinds, ["registered", "merged", "unmerged"]);
    app.stop().await;
}

#[tokio::test]
async fn confidential_records_are_restricted_and_ward_staff_see_their_ward() {
    let app = TestApp::spawn().await;
    let (desk, records, mut owner) = hospital(&app).await;
    let ward = uuid::Uuid::new_v4();
    let facility = uuid::Uuid::new_v4();
    app.add_user(desk.tenant_id, "nurse", "nurse", Scope::Department(ward))
        .await;
    let nurse = app
        .login("H1", "nurse", USER_PASSWORD)
        .await
        .expect("nurse");

    let secret = register(
        &app,
        &desk,
        "vip",
        pb::Patient {
            confidential: true,
            ..person("Vieru", "Ioana", pb::Sex::Female, "1985-08-08")
        },
    )
    .await;
    // The desk that registered it may know it exists, not read it.
    let seen = get(&app, &desk, &secret.id).await.expect("restricted read");
    assert!(seen.restricted && seen.confidential);
    assert_eq!(
        (seen.mrn.as_str(), seen.family_name.as_str()),
        (secret.mrn.as_str(), "")
    );
    let by_name = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            name: "vieru".to_owned(),
            ..Default::default()
        },
    )
    .await;
    assert!(by_name.matches.is_empty(), "names do not find it");
    let by_mrn = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            mrn: secret.mrn.clone(),
            ..Default::default()
        },
    )
    .await;
    assert!(
        by_mrn.matches[0]
            .patient
            .as_ref()
            .is_some_and(|p| p.restricted)
    );
    let edit = update(
        &app,
        &desk,
        "edit-vip",
        pb::Patient {
            id: secret.id.clone(),
            etag: secret.etag.clone(),
            occupation: "singer".to_owned(),
            ..Default::default()
        },
        &["occupation"],
    )
    .await
    .expect_err("cannot edit what it cannot see");
    assert_eq!(edit.code(), Code::PermissionDenied);
    // The records officer holds patients.confidential.
    let full = get(&app, &records, &secret.id).await.expect("full read");
    assert_eq!(full.family_name, "Vieru");

    // A ward nurse reaches nobody in the registry ...
    let other = register(
        &app,
        &desk,
        "other",
        person("Gutu", "Dan", pb::Sex::Male, "1950-02-02"),
    )
    .await;
    let refused = get(&app, &nurse, &other.id)
        .await
        .expect_err("not in the ward");
    assert_eq!(refused.code(), Code::PermissionDenied);
    // ... until the patient is placed in the ward (admissions keeps placements).
    sqlx::query(
        "INSERT INTO patients.placements (tenant_id, patient_id, facility_id, department_id, since) \
         VALUES ($1, $2, $3, $4, now())",
    )
    .bind(desk.tenant_id.as_uuid())
    .bind(other.id.parse::<uuid::Uuid>().expect("uuid"))
    .bind(facility)
    .bind(ward)
    .execute(&mut owner)
    .await
    .expect("place");
    assert_eq!(
        get(&app, &nurse, &other.id)
            .await
            .expect("in the ward")
            .family_name,
        "Gutu"
    );
    for name in ["gutu", "vieru"] {
        let found = search(
            &app,
            &nurse,
            pb::SearchPatientsRequest {
                name: name.to_owned(),
                ..Default::default()
            },
        )
        .await;
        let expected = usize::from(name == "gutu");
        assert_eq!(found.matches.len(), expected, "{name}");
    }
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM audit.records WHERE username = 'nurse' AND method LIKE '%/GetPatient' \
         ORDER BY id",
    )
    .fetch_all(&mut owner)
    .await
    .expect("audit");
    assert_eq!(outcomes, ["PERMISSION_DENIED", "OK"]);
    app.stop().await;
}

#[tokio::test]
async fn name_searches_stay_inside_the_tenant() {
    let app = TestApp::spawn().await;
    let (desk, _, mut owner) = hospital(&app).await;
    register(
        &app,
        &desk,
        "h1",
        person("Ursu", "Dorin", pb::Sex::Male, "1970-07-07"),
    )
    .await;
    let other = app.create_tenant("H2").await;
    app.add_user(other.tenant_id, "desk2", "registrar", Scope::Tenant)
        .await;
    let desk2 = app
        .login("H2", "desk2", USER_PASSWORD)
        .await
        .expect("desk2");
    for name in ["ursu", "ursu dorin", "ursy dorin"] {
        let found = search(
            &app,
            &desk2,
            pb::SearchPatientsRequest {
                name: name.to_owned(),
                ..Default::default()
            },
        )
        .await;
        assert!(found.matches.is_empty(), "{name}: {:?}", found.matches);
    }
    // The name index is not the application's to read, only through the tenant-bound function.
    sqlx::query("SET ROLE openhmis_app")
        .execute(&mut owner)
        .await
        .expect("role");
    let denied = sqlx::query("SELECT count(*) FROM patients.name_index")
        .execute(&mut owner)
        .await
        .expect_err("no grant");
    assert!(denied.to_string().contains("permission denied"), "{denied}");
    let unscoped: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM patients.find_by_name('ursu', 0, 50, NULL, NULL, NULL, true, \
             NULL, NULL)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("function");
    assert_eq!(unscoped, 0, "no tenant set, nothing found");
    app.stop().await;
}
