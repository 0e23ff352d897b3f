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
    let day = (start, start + Duration::days(1));
    let mut censuses = Vec::new();
    for open in [OpenStays::FromNow, OpenStays::Counted] {
        for department in [None, Some(ward)] {
            censuses.push(
                day_census_counting(&mut tx, facility, department, day, open)
                    .await
                    .expect("the day's census"),
            );
        }
    }
    tx.commit().await.expect("commit");
    for movement in [movement, one_ward] {
        assert_eq!(movement.len(), 1, "one ward moved");
        let ward = &movement[0];
        assert_eq!(
            ward.discharged, counted,
            "every stay that ended at the day's start"
        );
        assert_eq!(ward.bed_days, 0.0);
    }
    for census in censuses {
        let ward = census.iter().find(|line| line.present_at_start != 0);
        let ward = ward.expect("one ward had patients");
        assert_eq!(ward.discharged, counted);
        assert_eq!(ward.present_at_start, counted);
        assert_eq!(ward.present_at_end, 0);
    }
}

/// A fixed pseudo-random walk from `seed` (a linear congruential generator), so that a
/// failure repeats: each call a number below the one given.
fn pseudo_random(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |below| {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        usize::try_from(seed >> 33).expect("31 bits") % below
    }
}

/// Each ward's census of [`start`, `end`) counted from every stay, by the definitions
/// themselves; wards with nothing to count left out.
async fn census_recount(
    tx: &mut TenantTx,
    facility: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Vec<[i64; 8]> {
    let rows: Vec<DayCensus> = sqlx::query_as(
        "SELECT department_id, \
             count(*) FILTER (WHERE start_time < $2 AND (end_time IS NULL OR end_time >= $2)) \
                 AS present_at_start, \
             count(*) FILTER (WHERE start_time >= $2 AND start_time < $3 AND position = 0) \
                 AS admitted, \
             count(*) FILTER (WHERE start_time >= $2 AND start_time < $3 AND position > 0) \
                 AS transferred_in, \
             count(*) FILTER (WHERE end_time >= $2 AND end_time < $3 AND NOT last) \
                 AS transferred_out, \
             count(*) FILTER (WHERE end_time >= $2 AND end_time < $3 AND last \
                 AND status = 'discharged' AND discharge_type IS DISTINCT FROM 'deceased' \
                 AND discharge_type IS NOT NULL) AS discharged, \
             count(*) FILTER (WHERE end_time >= $2 AND end_time < $3 AND last \
                 AND status = 'discharged' AND discharge_type = 'deceased') AS deceased, \
             count(*) FILTER (WHERE start_time < $3 AND (end_time IS NULL OR end_time >= $3)) \
                 AS present_at_end, \
             count(*) FILTER (WHERE start_time >= $2 AND end_time < $3 AND position = 0 \
                 AND last) AS same_period_cases \
         FROM statistics.stays WHERE facility_id = $1 AND status <> 'cancelled' \
         GROUP BY department_id ORDER BY department_id",
    )
    .bind(facility)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await
    .expect("the recount");
    census_counts(&rows)
}

fn census_counts(rows: &[DayCensus]) -> Vec<[i64; 8]> {
    (rows.iter())
        .map(|w| {
            [
                w.present_at_start,
                w.admitted,
                w.transferred_in,
                w.transferred_out,
                w.discharged,
                w.deceased,
                w.present_at_end,
                w.same_period_cases,
            ]
        })
        .filter(|counts| counts.iter().any(|&count| count != 0))
        .collect()
}

/// The census from the midnights' counters equals a count of the stays themselves, for every
/// day of a long pseudo-random walk of admissions (opened, moved, discharged alive or dead,
/// cancelled, rewritten, some rolled back; moves on and either side of midnights), in time
/// zones from UTC-11 to UTC+13 (days of 23 and 25 hours too), for the facility and for each
/// ward, whichever way the open stays are counted.
#[tokio::test]
async fn a_day_census_counts_what_the_stays_say() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let facility = Uuid::now_v7();
    let wards = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    let admissions: Vec<Uuid> = (0..40).map(|_| Uuid::now_v7()).collect();
    let statuses = ["admitted", "discharged", "discharged", "cancelled"];
    let outcomes = [Some("alive"), Some("deceased"), Some("transferred"), None];
    let begin = async || {
        db.database
            .begin(tenant, &RequestId::generate())
            .await
            .expect("a tenant transaction")
    };
    let mut next = pseudo_random(61);
    let first = day_start();
    // Times on a grid of 90 minutes over twelve days, so that many fall on midnights.
    let at = |next: &mut dyn FnMut(usize) -> usize| {
        first + Duration::minutes(90 * i64::try_from(next(12 * 16)).expect("steps"))
    };
    for step in 0..160_i64 {
        let mut tx = begin().await;
        let status = statuses[next(statuses.len())];
        let moves = 1 + next(3);
        let mut time = at(&mut next);
        let mut stays = Vec::with_capacity(moves);
        for position in 0..moves {
            let last = position + 1 == moves;
            let end = (!last || status == "discharged" || (status == "cancelled" && next(2) == 0))
                .then(|| time + Duration::minutes(90 * i64::try_from(next(60)).expect("steps")));
            stays.push(StayFacts {
                position: i32::try_from(position).expect("a position"),
                department_id: wards[next(wards.len())],
                start_time: time,
                end_time: end,
                last,
            });
            time = end.unwrap_or(time);
        }
        let admission = AdmissionFacts {
            admission_id: admissions[next(admissions.len())],
            version: step + 1,
            patient_id: Uuid::now_v7(),
            facility_id: facility,
            admission_type: "planned".to_owned(),
            status: status.to_owned(),
            admit_time: stays[0].start_time,
            discharge_time: (status == "discharged").then_some(time),
            discharge_type: outcomes[next(outcomes.len())].map(str::to_owned),
            admitting_code: "I10".to_owned(),
            admission_number: format!("{step}/2026"),
        };
        replace_admission(&mut tx, &admission, &stays)
            .await
            .expect("an admission");
        if next(6) == 0 {
            tx.rollback().await.expect("roll back");
        } else {
            tx.commit().await.expect("commit");
        }
    }
    let mut tx = begin().await;
    let mut checked = 0;
    for day in -1..13 {
        for (offset, hours) in [(-11 * 60, 24), (-5 * 60, 24), (0, 24), (60, 23), (330, 24)]
            .into_iter()
            .chain([(8 * 60, 25), (13 * 60, 24), (12 * 60 + 45, 24)])
        {
            let start = first + Duration::days(day) - Duration::minutes(offset);
            let end = start + Duration::hours(hours);
            let counted = census_recount(&mut tx, facility, start, end).await;
            for open in [OpenStays::FromNow, OpenStays::Counted] {
                let census = day_census_counting(&mut tx, facility, None, (start, end), open)
                    .await
                    .expect("the census");
                assert_eq!(census_counts(&census), counted, "{start} {open:?}");
                let mut each = Vec::new();
                for ward in wards {
                    let one =
                        day_census_counting(&mut tx, facility, Some(ward), (start, end), open)
                            .await
                            .expect("a ward's census");
                    assert!(one.iter().all(|line| line.department_id == ward));
                    each.extend(one);
                }
                each.sort_by_key(|line| line.department_id);
                assert_eq!(census_counts(&each), counted, "{start} {open:?} by ward");
            }
            checked += usize::from(counted.iter().flatten().any(|&count| count > 0));
        }
    }
    assert!(checked > 80, "most days had patients: {checked}");
    tx.commit().await.expect("commit");
}

/// Each ward now as counted from the beds and the stays themselves.
async fn recount(tx: &mut TenantTx, facility: Uuid) -> Vec<WardNow> {
    sqlx::query_as(
        "SELECT w.department_id, \
             (SELECT count(*) FROM statistics.beds b WHERE b.department_id = w.department_id \
                 AND b.active AND b.state = 'free') AS free, \
             (SELECT count(*) FROM statistics.beds b WHERE b.department_id = w.department_id \
                 AND b.active AND b.state = 'occupied') AS occupied, \
             (SELECT count(*) FROM statistics.beds b WHERE b.department_id = w.department_id \
                 AND b.active AND b.state = 'reserved') AS reserved, \
             (SELECT count(*) FROM statistics.beds b WHERE b.department_id = w.department_id \
                 AND b.active AND b.state = 'cleaning') AS cleaning, \
             (SELECT count(*) FROM statistics.beds b WHERE b.department_id = w.department_id \
                 AND b.active AND b.state = 'out_of_service') AS blocked, \
             (SELECT count(*) FROM statistics.stays s WHERE s.department_id = w.department_id \
                 AND s.end_time IS NULL AND s.status = 'admitted' AND s.sex = 'male') AS male, \
             (SELECT count(*) FROM statistics.stays s WHERE s.department_id = w.department_id \
                 AND s.end_time IS NULL AND s.status = 'admitted' AND s.sex = 'female') \
                 AS female, \
             (SELECT count(*) FROM statistics.stays s WHERE s.department_id = w.department_id \
                 AND s.end_time IS NULL AND s.status = 'admitted' \
                 AND s.sex IS DISTINCT FROM 'male' AND s.sex IS DISTINCT FROM 'female') AS other \
         FROM statistics.departments w WHERE w.facility_id = $1 ORDER BY w.code",
    )
    .bind(facility)
    .fetch_all(&mut **tx)
    .await
    .expect("the recount")
}

fn counts(wards: &[WardNow]) -> Vec<[i64; 8]> {
    (wards.iter())
        .map(|w| {
            [
                w.free, w.occupied, w.reserved, w.cleaning, w.blocked, w.male, w.female, w.other,
            ]
        })
        .collect()
}

/// The wards' counters of beds and present patients are kept by every write to the beds and
/// the stays: after a long scripted walk of bed states, wards, deactivations, admissions
/// opened, transferred, discharged and cancelled, and patients' sex corrected (some writes in
/// transactions that roll back), they equal a count of the rows; after `clear`, nothing.
#[tokio::test]
async fn the_wards_counters_follow_every_write_to_beds_and_stays() {
    let db = TestDatabase::new().await;
    let tenant = TenantId::generate();
    let facility = Uuid::now_v7();
    let wards = [Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()];
    let beds: Vec<Uuid> = (0..8).map(|_| Uuid::now_v7()).collect();
    let patients: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
    let admissions: Vec<Uuid> = (0..6).map(|_| Uuid::now_v7()).collect();
    let states = [
        "free",
        "occupied",
        "reserved",
        "cleaning",
        "out_of_service",
        "unknown",
    ];
    let sexes = ["male", "female", "other", "unknown"];
    let statuses = ["admitted", "discharged", "cancelled"];
    let begin = async || {
        db.database
            .begin(tenant, &RequestId::generate())
            .await
            .expect("a tenant transaction")
    };
    let mut tx = begin().await;
    for (n, ward) in wards.iter().enumerate() {
        keep_department(
            &mut tx,
            (*ward, 1),
            (facility, &format!("W{n}"), "ward", true),
        )
        .await
        .expect("the ward");
    }
    tx.commit().await.expect("commit");
    let mut next = pseudo_random(45);
    let start = day_start();
    for step in 0..300_i64 {
        let mut tx = begin().await;
        for _ in 0..3 {
            match next(3) {
                0 => keep_bed(
                    &mut tx,
                    (beds[next(beds.len())], step + 1),
                    (wards[next(3)], states[next(states.len())], next(4) > 0),
                )
                .await
                .expect("a bed"),
                1 => {
                    let patient = patients[next(patients.len())];
                    record_patient(&mut tx, patient, step + 1, sexes[next(sexes.len())], None)
                        .await
                        .expect("a patient");
                }
                _ => {
                    let status = statuses[next(statuses.len())];
                    let moves = 1 + next(3);
                    let stays: Vec<StayFacts> = (0..moves)
                        .map(|position| StayFacts {
                            position: i32::try_from(position).expect("a position"),
                            department_id: wards[next(3)],
                            start_time: start
                                + Duration::hours(i64::try_from(position * 5).expect("hours")),
                            end_time: (position + 1 < moves || status == "discharged").then(|| {
                                start
                                    + Duration::hours(
                                        i64::try_from(position * 5 + 5).expect("hours"),
                                    )
                            }),
                            last: position + 1 == moves,
                        })
                        .collect();
                    let admission = AdmissionFacts {
                        admission_id: admissions[next(admissions.len())],
                        version: step + 1,
                        patient_id: patients[next(patients.len())],
                        facility_id: facility,
                        admission_type: "planned".to_owned(),
                        status: status.to_owned(),
                        admit_time: start,
                        discharge_time: None,
                        discharge_type: None,
                        admitting_code: "I10".to_owned(),
                        admission_number: format!("{step}/2026"),
                    };
                    replace_admission(&mut tx, &admission, &stays)
                        .await
                        .expect("an admission");
                }
            }
        }
        if next(5) == 0 {
            tx.rollback().await.expect("roll back");
        } else {
            tx.commit().await.expect("commit");
        }
        if step % 30 == 29 {
            let mut tx = begin().await;
            let kept = wards_now(&mut tx, facility).await.expect("the counters");
            let counted = recount(&mut tx, facility).await;
            assert_eq!(counts(&kept), counts(&counted), "after step {step}");
            tx.commit().await.expect("commit");
        }
    }
    let mut tx = begin().await;
    let counted = counts(&recount(&mut tx, facility).await);
    assert!(
        counted.iter().flatten().any(|&count| count > 0),
        "the walk left beds and patients somewhere: {counted:?}"
    );
    clear(&mut tx).await.expect("clear");
    let left: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM statistics.wards_now) \
              + (SELECT count(*) FROM statistics.ward_midnights)",
    )
    .fetch_one(&mut *tx)
    .await
    .expect("what is left");
    assert_eq!(left, 0, "a rebuild starts from no counters");
    tx.commit().await.expect("commit");
}
