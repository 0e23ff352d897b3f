//! The patient registry over real gRPC: registration with MRNs, identifiers that cannot be
//! registered twice even by racing desks, bad input refused whole, every access audited.

use crate::support;

use hmis_platform::auth::Scope;
use hmis_proto::openhmis::patients::v1 as pb;
use pb::patient_service_client::PatientServiceClient;
use sqlx::{Connection, PgConnection};
use support::{Session, TestApp, USER_PASSWORD, signed_in, violated_fields};
use tonic::Code;

fn client(app: &TestApp) -> PatientServiceClient<tonic::transport::Channel> {
    PatientServiceClient::new(app.channel.clone())
}

fn ana(national_id: &str) -> pb::Patient {
    pb::Patient {
        family_name: "Popescu".to_owned(),
        given_names: "Ana".to_owned(),
        sex: pb::Sex::Female.into(),
        birth_date: "1970-01-16".to_owned(),
        identifiers: vec![pb::Identifier {
            r#type: pb::IdentifierType::NationalId.into(),
            country: "RO".to_owned(),
            value: national_id.to_owned(),
        }],
        ..Default::default()
    }
}

async fn register(
    app: &TestApp,
    session: &Session,
    request_id: &str,
    patient: pb::Patient,
) -> Result<pb::Patient, tonic::Status> {
    client(app)
        .register_patient(signed_in(
            session,
            pb::RegisterPatientRequest {
                request_id: request_id.to_owned(),
                patient: Some(patient),
                confirm_new_patient: false,
            },
        ))
        .await
        .map(|response| response.into_inner().patient.expect("patient"))
}

async fn desk(app: &TestApp) -> (Session, PgConnection) {
    let admin = app.create_tenant("H1").await;
    app.add_user(admin.tenant_id, "desk", "registrar", Scope::Tenant)
        .await;
    let desk = app
        .login("H1", "desk", USER_PASSWORD)
        .await
        .expect("registrar signs in");
    let owner = PgConnection::connect_with(&app.db.owner_options())
        .await
        .expect("owner");
    (desk, owner)
}

#[tokio::test]
async fn registering_gives_an_mrn_and_every_access_is_audited_once() {
    let app = TestApp::spawn().await;
    let (desk, mut owner) = desk(&app).await;
    let registered = register(&app, &desk, "r1", ana("2700116 065277"))
        .await
        .expect("register");
    assert_eq!(registered.mrn, "00000001");
    assert_eq!(
        registered.identifiers[0].value, "2700116065277",
        "normalised"
    );
    let second = register(
        &app,
        &desk,
        "r2",
        pb::Patient {
            identifiers: vec![],
            given_names: "Ion".to_owned(),
            sex: pb::Sex::Male.into(),
            ..ana("")
        },
    )
    .await
    .expect("register another");
    assert_eq!(second.mrn, "00000002");

    let read = client(&app)
        .get_patient(signed_in(
            &desk,
            pb::GetPatientRequest {
                id: registered.id.clone(),
            },
        ))
        .await
        .expect("get")
        .into_inner()
        .patient
        .expect("patient");
    assert_eq!(read, registered);

    let patient_id: uuid::Uuid = registered.id.parse().expect("uuid");
    let records: Vec<(String, String)> = sqlx::query_as(
        "SELECT method, outcome FROM audit.records WHERE $1 = ANY(patient_ids) ORDER BY id",
    )
    .bind(patient_id)
    .fetch_all(&mut owner)
    .await
    .expect("audit");
    assert_eq!(
        records,
        [
            (
                "/openhmis.patients.v1.PatientService/RegisterPatient".to_owned(),
                "OK".to_owned()
            ),
            (
                "/openhmis.patients.v1.PatientService/GetPatient".to_owned(),
                "OK".to_owned()
            ),
        ]
    );

    // A retry of the registration changes nothing and is not a second access.
    let retried = register(&app, &desk, "r1", ana("2700116 065277"))
        .await
        .expect("retry");
    assert_eq!(retried, registered);
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM patients.patients")
        .fetch_one(&mut owner)
        .await
        .expect("count");
    assert_eq!(count, 2);
    app.stop().await;
}

#[tokio::test]
async fn sixteen_desks_registering_one_national_id_create_one_patient() {
    desks_race_for_one_national_id(false, |_| ana("2700116065277")).await;
}

/// The desks confirm a new patient (no duplicate check) under sixteen different names, so no
/// name lock orders them: they meet at the identifier itself, and the losers still learn whose
/// it is.
#[tokio::test]
async fn desks_confirming_sixteen_names_for_one_national_id_create_one_patient() {
    const GIVEN: [&str; 16] = [
        "Ana",
        "Maria",
        "Elena",
        "Ioana",
        "Olga",
        "Irina",
        "Doina",
        "Lilia",
        "Galina",
        "Tatiana",
        "Natalia",
        "Angela",
        "Aurelia",
        "Cristina",
        "Svetlana",
        "Valentina",
    ];
    desks_race_for_one_national_id(true, |n| pb::Patient {
        given_names: GIVEN[n].to_owned(),
        ..ana("2700116065277")
    })
    .await;
}

/// Sixteen desks register `patient(n)` at once, all with one national id: one record is made,
/// the others are told the MRN that holds it.
async fn desks_race_for_one_national_id(confirm_new: bool, patient: impl Fn(usize) -> pb::Patient) {
    let app = TestApp::spawn().await;
    let (desk, mut owner) = desk(&app).await;
    let attempts = (0..16).map(|n| {
        let request = signed_in(
            &desk,
            pb::RegisterPatientRequest {
                request_id: format!("desk-{n}"),
                patient: Some(patient(n)),
                confirm_new_patient: confirm_new,
            },
        );
        let mut client = client(&app);
        async move { client.register_patient(request).await }
    });
    let results = futures::future::join_all(attempts).await;
    let winners: Vec<_> = results
        .iter()
        .filter_map(|result| result.as_ref().ok())
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let mrn = winners[0]
        .get_ref()
        .patient
        .as_ref()
        .expect("patient")
        .mrn
        .clone();
    for refused in results.iter().filter_map(|result| result.as_ref().err()) {
        assert_eq!(refused.code(), Code::AlreadyExists, "{refused:?}");
        assert!(
            refused.message().contains(&mrn),
            "names the existing MRN: {}",
            refused.message()
        );
    }
    let (patients, identifiers, next_mrn): (i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM patients.patients), (SELECT count(*) FROM patients.identifiers), \
                (SELECT next_mrn FROM patients.mrn_counters)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("counts");
    assert_eq!((patients, identifiers), (1, 1));
    // MRNs are unique, not gap-free: the server reserved one block of 64 at once, and the
    // losing registrations' numbers are simply not used.
    assert_eq!(
        next_mrn, 65,
        "one block of MRNs reserved, in a moment of its own"
    );
    app.stop().await;
}

#[tokio::test]
async fn bad_input_is_refused_whole_and_writes_nothing() {
    let app = TestApp::spawn().await;
    let (desk, mut owner) = desk(&app).await;
    let bad = pb::Patient {
        family_name: "  ".to_owned(),
        given_names: "A".repeat(500),
        sex: 42,
        birth_date: "2999-01-01".to_owned(),
        identifiers: vec![
            pb::Identifier {
                r#type: pb::IdentifierType::NationalId.into(),
                country: "RO".to_owned(),
                value: "2700116065271".to_owned(),
            },
            pb::Identifier {
                r#type: 99,
                country: "MD".to_owned(),
                value: "X".to_owned(),
            },
        ],
        ..Default::default()
    };
    let refused = register(&app, &desk, "bad", bad)
        .await
        .expect_err("bad input");
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&refused),
        [
            "patient.family_name",
            "patient.given_names",
            "patient.sex",
            "patient.birth_date",
            "patient.identifiers[0].value",
            "patient.identifiers[1].type",
        ]
    );
    // A valid CNP that contradicts the record's sex is refused as well.
    let contradicts = register(
        &app,
        &desk,
        "contradiction",
        pb::Patient {
            sex: pb::Sex::Male.into(),
            ..ana("2700116065277")
        },
    )
    .await
    .expect_err("CNP encodes a woman");
    assert_eq!(
        violated_fields(&contradicts),
        ["patient.identifiers[0].value"]
    );

    let written: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM patients.patients) + (SELECT count(*) FROM patients.identifiers) \
         + (SELECT count(*) FROM patients.idempotency_keys) + (SELECT count(*) FROM patients.outbox)",
    )
    .fetch_one(&mut owner)
    .await
    .expect("count");
    assert_eq!(written, 0);
    app.stop().await;
}

#[tokio::test]
async fn reading_without_permission_is_refused_and_audited() {
    let app = TestApp::spawn().await;
    let (desk, mut owner) = desk(&app).await;
    let registered = register(&app, &desk, "r1", ana("2700116065277"))
        .await
        .expect("register");
    let admin = app
        .login("H1", "admin", USER_PASSWORD)
        .await
        .expect("admin");
    let refused = client(&app)
        .get_patient(signed_in(
            &admin,
            pb::GetPatientRequest {
                id: registered.id.clone(),
            },
        ))
        .await
        .expect_err("administrators do not read patient records");
    assert_eq!(refused.code(), Code::PermissionDenied);
    let outcomes: Vec<String> = sqlx::query_scalar(
        "SELECT outcome FROM audit.records WHERE $1 = ANY(patient_ids) AND username = 'admin'",
    )
    .bind(registered.id.parse::<uuid::Uuid>().expect("uuid"))
    .fetch_all(&mut owner)
    .await
    .expect("audit");
    assert_eq!(outcomes, ["PERMISSION_DENIED"]);
    app.stop().await;
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

async fn search(
    app: &TestApp,
    session: &Session,
    request: pb::SearchPatientsRequest,
) -> Result<pb::SearchPatientsResponse, tonic::Status> {
    client(app)
        .search_patients(signed_in(session, request))
        .await
        .map(tonic::Response::into_inner)
}

fn names(response: &pb::SearchPatientsResponse) -> Vec<String> {
    response
        .matches
        .iter()
        .map(|found| {
            let patient = found.patient.as_ref().expect("patient");
            format!("{} {}", patient.family_name, patient.given_names)
        })
        .collect()
}

#[tokio::test]
async fn patients_are_found_by_name_despite_case_accents_and_typos_and_by_identifiers() {
    let app = TestApp::spawn().await;
    let (desk, mut owner) = desk(&app).await;
    let ana = register(&app, &desk, "p1", ana("2700116065277"))
        .await
        .expect("ana");
    for (n, (family, given, sex, born)) in [
        ("Ștefănescu", "Ion", pb::Sex::Male, "1980-03-01"),
        ("Stefanescu", "Maria", pb::Sex::Female, "1985-07-12"),
        ("Popa", "Ion", pb::Sex::Male, "1990-01-01"),
        ("Ionescu", "Elena", pb::Sex::Female, "1970-01-16"),
    ]
    .into_iter()
    .enumerate()
    {
        register(
            &app,
            &desk,
            &format!("p{}", n + 2),
            person(family, given, sex, born),
        )
        .await
        .expect("register");
    }

    // Accent- and case-insensitive prefix: both Ștefănescu and Stefanescu, equal scores in
    // MRN order.
    let found = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            name: "STEFAN".to_owned(),
            ..Default::default()
        },
    )
    .await
    .expect("search");
    assert_eq!(names(&found), ["Ștefănescu Ion", "Stefanescu Maria"]);
    assert!(found.matches.iter().all(|found| found.score == 1.0));

    // A typo still finds the person; word order does not matter.
    let typo = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            name: "ion stefanesku".to_owned(),
            ..Default::default()
        },
    )
    .await
    .expect("search");
    assert_eq!(
        names(&typo).first().map(String::as_str),
        Some("Ștefănescu Ion"),
        "{:?}",
        names(&typo)
    );

    // Filters narrow by sex and birth year.
    let men = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            name: "stefanescu".to_owned(),
            sex: pb::Sex::Male.into(),
            birth_year: 1980,
            ..Default::default()
        },
    )
    .await
    .expect("search");
    assert_eq!(names(&men), ["Ștefănescu Ion"]);

    // By identifier (typed with spaces) and by MRN: exactly the one.
    let by_id = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            identifier: Some(pb::Identifier {
                r#type: pb::IdentifierType::NationalId.into(),
                country: "ro".to_owned(),
                value: "2700116 065277".to_owned(),
            }),
            ..Default::default()
        },
    )
    .await
    .expect("search");
    assert_eq!(by_id.matches.len(), 1);
    assert_eq!(
        by_id.matches[0].patient.as_ref().map(|p| p.id.clone()),
        Some(ana.id.clone())
    );
    let by_mrn = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            mrn: ana.mrn.clone(),
            ..Default::default()
        },
    )
    .await
    .expect("search");
    assert_eq!(names(&by_mrn), ["Popescu Ana"]);

    // Paging walks every match once.
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = search(
            &app,
            &desk,
            pb::SearchPatientsRequest {
                name: "ion".to_owned(),
                page_size: 1,
                page_token: page_token.clone(),
                ..Default::default()
            },
        )
        .await
        .expect("page");
        seen.extend(names(&page));
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    let mut unique = seen.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), seen.len(), "{seen:?}");
    assert!(seen.len() >= 3, "Ion twice and Ionescu: {seen:?}");

    // The identifier search is on record, naming the patient it showed.
    let patient_id: uuid::Uuid = ana.id.parse().expect("uuid");
    let searches: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM audit.records \
         WHERE method = '/openhmis.patients.v1.PatientService/SearchPatients' AND $1 = ANY(patient_ids)",
    )
    .bind(patient_id)
    .fetch_one(&mut owner)
    .await
    .expect("audit");
    assert_eq!(searches, 2, "by identifier and by MRN");

    let ambiguous = search(
        &app,
        &desk,
        pb::SearchPatientsRequest {
            name: "ion".to_owned(),
            mrn: "1".to_owned(),
            ..Default::default()
        },
    )
    .await
    .expect_err("two keys");
    assert_eq!(violated_fields(&ambiguous), ["mrn"]);
    app.stop().await;
}
