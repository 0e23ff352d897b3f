//! The rules the surgery schema itself keeps, against a real PostgreSQL: one booking per
//! theatre, person and patient at a time, and only while the booking is scheduled.

use chrono::{DateTime, Duration, Utc};
use hmis_platform::context::RequestId;
use hmis_platform::testing::TestDatabase;
use hmis_platform::{Database, TenantId, TenantTx};
use uuid::Uuid;

use super::*;
use crate::domain::{AnaesthesiaType, OperationStatus, Priority, Slot, TeamRole};
use crate::error::Error;

async fn begin(database: &Database, tenant_id: TenantId) -> TenantTx {
    database
        .begin(tenant_id, &RequestId::generate())
        .await
        .expect("a tenant transaction")
}

fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T08:00:00Z")
        .expect("a time")
        .with_timezone(&Utc)
        + Duration::minutes(minutes)
}

async fn theatre(tx: &mut TenantTx, code: &str) -> TheatreRow {
    let row = TheatreRow {
        id: Uuid::now_v7(),
        room_id: Uuid::now_v7(),
        facility_id: Uuid::nil(),
        department_id: Uuid::nil(),
        code: code.to_owned(),
        name: code.to_owned(),
        specialty_codes: vec![],
        equipment: vec![],
        active: true,
        version: 1,
    };
    insert_theatre(tx, &row, at(0)).await.expect("theatre");
    row
}

async fn book(
    tx: &mut TenantTx,
    theatre: &TheatreRow,
    (patient, surgeon): (Uuid, Uuid),
    (start, minutes): (i64, i32),
) -> Result<Uuid, Error> {
    let id = Uuid::now_v7();
    let slot = Slot::parse(at(start), minutes).expect("slot");
    insert_operation(
        tx,
        &NewOperation {
            id,
            theatre,
            patient_id: patient,
            admission_id: None,
            slot,
            priority: Priority::Elective,
            anaesthesia_type: AnaesthesiaType::General,
            specialty_code: "general-surgery",
            override_reason: "",
            booked_by: Uuid::nil(),
            procedures: &[("30571-00".to_owned(), "Appendicectomy".to_owned(), Some(2))],
            team: &[(surgeon, TeamRole::PrimarySurgeon)],
        },
        at(0),
    )
    .await?;
    Ok(id)
}

#[tokio::test]
async fn a_theatre_a_person_and_a_patient_are_booked_once_at_a_time() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let mut tx = begin(&db.database, tenant).await;
    let (one, two) = (
        theatre(&mut tx, "OR-1").await,
        theatre(&mut tx, "OR-2").await,
    );
    let (surgeon, other_surgeon) = (Uuid::now_v7(), Uuid::now_v7());
    let first = book(&mut tx, &one, (Uuid::now_v7(), surgeon), (0, 60))
        .await
        .expect("the first booking");
    // Back to back is not an overlap: [08:00, 09:00) then [09:00, 10:00).
    book(&mut tx, &one, (Uuid::now_v7(), other_surgeon), (60, 60))
        .await
        .expect("the next slot");
    tx.commit().await.expect("commit");

    let mut tx = begin(&db.database, tenant).await;
    let taken = book(&mut tx, &one, (Uuid::now_v7(), Uuid::now_v7()), (30, 60)).await;
    assert!(matches!(taken, Err(Error::TheatreTaken)), "{taken:?}");
    drop(tx);
    let mut tx = begin(&db.database, tenant).await;
    let elsewhere = book(&mut tx, &two, (Uuid::now_v7(), surgeon), (30, 60)).await;
    assert!(
        matches!(elsewhere, Err(Error::PersonTaken)),
        "{elsewhere:?}"
    );
    drop(tx);

    // Once cancelled, the booking lets its theatre and its surgeon go.
    let mut tx = begin(&db.database, tenant).await;
    end_operation(
        &mut tx,
        first,
        OperationStatus::Cancelled,
        "patient unfit",
        None,
    )
    .await
    .expect("cancel");
    book(&mut tx, &two, (Uuid::now_v7(), surgeon), (0, 45))
        .await
        .expect("the surgeon is free again");
    book(&mut tx, &one, (Uuid::now_v7(), Uuid::now_v7()), (0, 45))
        .await
        .expect("the theatre is free again");
    tx.commit().await.expect("commit");
}

#[tokio::test]
async fn a_patient_is_not_in_two_theatres_and_a_moved_booking_moves_its_team() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let mut tx = begin(&db.database, tenant).await;
    let (one, two) = (
        theatre(&mut tx, "OR-1").await,
        theatre(&mut tx, "OR-2").await,
    );
    let (patient, surgeon) = (Uuid::now_v7(), Uuid::now_v7());
    let first = book(&mut tx, &one, (patient, surgeon), (0, 60))
        .await
        .expect("booked");
    tx.commit().await.expect("commit");

    let mut tx = begin(&db.database, tenant).await;
    let twice = book(&mut tx, &two, (patient, Uuid::now_v7()), (15, 30)).await;
    assert!(matches!(twice, Err(Error::PatientTaken)), "{twice:?}");
    drop(tx);

    let mut tx = begin(&db.database, tenant).await;
    move_operation(
        &mut tx,
        first,
        &two,
        &Slot::parse(at(120), 60).expect("slot"),
    )
    .await
    .expect("moved");
    // The surgeon's old time is free; the new one is held.
    book(&mut tx, &one, (Uuid::now_v7(), surgeon), (0, 60))
        .await
        .expect("the old time is free");
    let clash = book(&mut tx, &one, (Uuid::now_v7(), surgeon), (150, 30)).await;
    assert!(matches!(clash, Err(Error::PersonTaken)), "{clash:?}");
}
