//! The rules the admissions schema itself keeps, against a real PostgreSQL: they hold whatever
//! the code above the store does, so they are tested here without it.

use chrono::{DateTime, Duration, Utc};
use hmis_platform::context::RequestId;
use hmis_platform::testing::TestDatabase;
use hmis_platform::{Database, TenantId, TenantTx};
use uuid::Uuid;

use super::*;
use crate::domain::AdmissionType;
use crate::error::Error;

async fn begin(database: &Database, tenant_id: TenantId) -> TenantTx {
    database
        .begin(tenant_id, &RequestId::generate())
        .await
        .expect("a tenant transaction")
}

fn at(hours: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T08:00:00Z")
        .expect("a time")
        .with_timezone(&Utc)
        + Duration::hours(hours)
}

/// A new open admission of `patient_id`, without a bed.
async fn admit(tx: &mut TenantTx, patient_id: Uuid, number: &str) -> Result<AdmissionRow, Error> {
    insert_admission(
        tx,
        &NewAdmission {
            id: Uuid::now_v7(),
            patient_id,
            facility_id: Uuid::nil(),
            admission_number: number.to_owned(),
            kind: AdmissionType::Planned,
            admit_time: at(0),
            department_id: Uuid::nil(),
            bed_id: None,
            admitting_physician_id: None,
            admitting_diagnosis_code: String::new(),
            admitting_diagnosis_text: String::new(),
            emergency_visit_id: None,
            consent_document_ids: Vec::new(),
            mother_admission_id: None,
        },
        at(0),
    )
    .await
}

#[tokio::test]
async fn a_bed_holds_one_patient_at_any_time() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let (ward, bed) = (Uuid::now_v7(), Uuid::now_v7());
    let mut tx = begin(&db.database, tenant).await;
    let first = admit(&mut tx, Uuid::now_v7(), "1/2026")
        .await
        .expect("admitted");
    let second = admit(&mut tx, Uuid::now_v7(), "2/2026")
        .await
        .expect("admitted");
    let stay = insert_stay(&mut tx, &in_bed(first.id, "stay", ward, bed, at(0)))
        .await
        .expect("the bed is free");
    set_stay_end(&mut tx, stay.id, Some(at(10)))
        .await
        .expect("the stay ends");
    tx.commit().await.expect("commit");

    // Overlapping the first stay: refused, whatever the code above the store checked.
    let mut tx = begin(&db.database, tenant).await;
    let refused = insert_stay(&mut tx, &in_bed(second.id, "stay", ward, bed, at(9))).await;
    assert!(matches!(refused, Err(Error::BedTaken)), "{refused:?}");
    drop(tx);

    // A reservation is a hold too.
    let mut tx = begin(&db.database, tenant).await;
    let refused = insert_stay(&mut tx, &in_bed(second.id, "reservation", ward, bed, at(5))).await;
    assert!(matches!(refused, Err(Error::BedTaken)), "{refused:?}");
    drop(tx);

    // From the instant the first stay ended, the bed is free.
    let mut tx = begin(&db.database, tenant).await;
    insert_stay(&mut tx, &in_bed(second.id, "stay", ward, bed, at(10)))
        .await
        .expect("the bed is free from the end of the first stay");
    tx.commit().await.expect("commit");
}

/// A stay (or a reservation) in `bed` of `ward` from `start`, open.
fn in_bed(
    admission_id: Uuid,
    kind: &'static str,
    ward: Uuid,
    bed: Uuid,
    start: chrono::DateTime<chrono::Utc>,
) -> NewStay<'static> {
    NewStay {
        admission_id,
        kind,
        department_id: ward,
        bed_id: Some(bed),
        start_time: start,
        end_time: None,
        reason: "",
    }
}

#[tokio::test]
async fn a_patient_has_one_open_admission() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let patient = Uuid::now_v7();
    let mut tx = begin(&db.database, tenant).await;
    admit(&mut tx, patient, "1/2026").await.expect("admitted");
    tx.commit().await.expect("commit");

    let mut tx = begin(&db.database, tenant).await;
    let refused = admit(&mut tx, patient, "2/2026").await;
    assert!(
        matches!(refused, Err(Error::AlreadyAdmitted)),
        "{refused:?}"
    );
    drop(tx);

    // Another tenant's patient of the same id is another patient.
    let mut tx = begin(&db.database, TenantId::generate()).await;
    admit(&mut tx, patient, "1/2026")
        .await
        .expect("another tenant admits its own patient");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn admission_numbers_run_without_gaps_per_facility_and_year() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let (facility, other_facility) = (Uuid::now_v7(), Uuid::now_v7());
    let mut tx = begin(&db.database, tenant).await;
    let numbers = [
        next_admission_number(&mut tx, facility, 2026)
            .await
            .expect("a number"),
        next_admission_number(&mut tx, facility, 2026)
            .await
            .expect("a number"),
        next_admission_number(&mut tx, other_facility, 2026)
            .await
            .expect("a number"),
        next_admission_number(&mut tx, facility, 2027)
            .await
            .expect("a number"),
    ];
    assert_eq!(numbers, [1, 2, 1, 1]);
    tx.commit().await.expect("commit");

    // A number taken by a transaction that rolls back is given to the next admission.
    let mut tx = begin(&db.database, tenant).await;
    let lost = next_admission_number(&mut tx, facility, 2026)
        .await
        .expect("a number");
    tx.rollback().await.expect("rollback");
    let mut tx = begin(&db.database, tenant).await;
    let next = next_admission_number(&mut tx, facility, 2026)
        .await
        .expect("a number");
    assert_eq!((lost, next), (3, 3));
}
