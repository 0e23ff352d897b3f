//! The movement statement against a real PostgreSQL, where its index ranges could miss a stay.

use chrono::{DateTime, Duration, Utc};
use hmis_platform::context::RequestId;
use hmis_platform::testing::TestDatabase;
use hmis_platform::{TenantId, TenantTx};
use uuid::Uuid;

use super::*;

fn day_start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .expect("a time")
        .with_timezone(&Utc)
}

/// A discharged admission of one stay in `ward` over [`start`, `end`].
async fn stay(
    tx: &mut TenantTx,
    facility: Uuid,
    ward: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) {
    let admission = AdmissionFacts {
        admission_id: Uuid::now_v7(),
        version: 1,
        patient_id: Uuid::now_v7(),
        facility_id: facility,
        admission_type: "planned".to_owned(),
        status: "discharged".to_owned(),
        admit_time: start,
        discharge_time: Some(end),
        discharge_type: Some("alive".to_owned()),
        admitting_code: "I10".to_owned(),
        admission_number: "1/2026".to_owned(),
    };
    let stays = [StayFacts {
        position: 0,
        department_id: ward,
        start_time: start,
        end_time: Some(end),
        last: true,
    }];
    replace_admission(tx, &admission, &stays)
        .await
        .expect("the stay is stored");
}

/// A stay is found through the range of its length class, which starts 2^k hours (and an
/// hour) before the period. The stays at the edge of each class, a second either side of
/// exactly 2^k hours, all ending at the very start of the day (the earliest a stay of its
/// length can begin and still be counted), are all counted leaving that day; those that ended
/// a microsecond earlier are not.
#[tokio::test]
async fn a_stay_at_the_edge_of_its_length_class_is_still_counted() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let (facility, ward) = (Uuid::now_v7(), Uuid::now_v7());
    let start = day_start();
    let mut tx = db
        .database
        .begin(tenant, &RequestId::generate())
        .await
        .expect("a tenant transaction");
    let mut counted = 0;
    for class in 0..=BOUNDED_CLASSES + 1 {
        let hours = Duration::hours(1 << class);
        for length in [
            hours - Duration::seconds(1),
            hours,
            hours + Duration::seconds(1),
        ] {
            stay(&mut tx, facility, ward, start - length, start).await;
            let before = start - Duration::microseconds(1);
            stay(&mut tx, facility, ward, before - length, before).await;
            counted += 1;
        }
    }
    let movement = ward_movement(&mut tx, facility, None, start, start + Duration::days(1))
        .await
        .expect("the day's movement");
    let one_ward = ward_movement(
        &mut tx,
        facility,
        Some(ward),
        start,
        start + Duration::days(1),
    )
    .await
    .expect("the ward's movement");
    tx.commit().await.expect("commit");
    for movement in [movement, one_ward] {
        assert_eq!(movement.len(), 1, "one ward moved");
        let ward = &movement[0];
        assert_eq!(
            ward.discharged, counted,
            "every stay that ended at the day's start"
        );
        assert_eq!(ward.present_at_start, counted);
        assert_eq!(ward.present_at_end, 0);
        assert_eq!(ward.bed_days, 0.0);
    }
}
