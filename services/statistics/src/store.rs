//! The only place statistics speaks SQL, and only to the `statistics` schema.

use chrono::{DateTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::error::Result;

#[cfg(test)]
mod tests;

#[derive(Debug, Clone)]
pub struct AdmissionFacts {
    pub admission_id: Uuid,
    pub version: i64,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub admission_type: String,
    pub status: String,
    pub admit_time: DateTime<Utc>,
    pub discharge_time: Option<DateTime<Utc>>,
    /// alive, deceased, transferred (to another facility).
    pub discharge_type: Option<String>,
    pub admitting_code: String,
    pub admission_number: String,
}

#[derive(Debug, Clone)]
pub struct StayFacts {
    pub position: i32,
    pub department_id: Uuid,
    pub start_time: DateTime<Utc>,
    pub end_time: Option<DateTime<Utc>>,
    pub last: bool,
}

/// Stores the admission and its stays unless a version as new is stored already.
pub async fn replace_admission(
    tx: &mut TenantTx,
    admission: &AdmissionFacts,
    stays: &[StayFacts],
) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    let changed = sqlx::query(
        "INSERT INTO statistics.admissions AS a (tenant_id, admission_id, version, patient_id, \
             facility_id, admission_type, status, admit_time, discharge_time, discharge_type, \
             admitting_code, admission_number) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) \
         ON CONFLICT (tenant_id, admission_id) DO UPDATE SET version = EXCLUDED.version, \
             patient_id = EXCLUDED.patient_id, facility_id = EXCLUDED.facility_id, \
             admission_type = EXCLUDED.admission_type, status = EXCLUDED.status, \
             admit_time = EXCLUDED.admit_time, discharge_time = EXCLUDED.discharge_time, \
             discharge_type = EXCLUDED.discharge_type, admitting_code = EXCLUDED.admitting_code, \
             admission_number = EXCLUDED.admission_number \
         WHERE a.version < EXCLUDED.version",
    )
    .bind(tenant_id)
    .bind(admission.admission_id)
    .bind(admission.version)
    .bind(admission.patient_id)
    .bind(admission.facility_id)
    .bind(&admission.admission_type)
    .bind(&admission.status)
    .bind(admission.admit_time)
    .bind(admission.discharge_time)
    .bind(&admission.discharge_type)
    .bind(&admission.admitting_code)
    .bind(&admission.admission_number)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed == 0 {
        return Ok(());
    }
    lock_patient(tx, admission.patient_id).await?;
    sqlx::query("DELETE FROM statistics.stays WHERE tenant_id = $1 AND admission_id = $2")
        .bind(tenant_id)
        .bind(admission.admission_id)
        .execute(&mut **tx)
        .await?;
    let positions: Vec<i32> = stays.iter().map(|stay| stay.position).collect();
    let wards: Vec<Uuid> = stays.iter().map(|stay| stay.department_id).collect();
    let starts: Vec<DateTime<Utc>> = stays.iter().map(|stay| stay.start_time).collect();
    let ends: Vec<Option<DateTime<Utc>>> = stays.iter().map(|stay| stay.end_time).collect();
    let lasts: Vec<bool> = stays.iter().map(|stay| stay.last).collect();
    sqlx::query(
        "INSERT INTO statistics.stays (tenant_id, admission_id, position, department_id, \
             start_time, end_time, last, facility_id, status, discharge_type, patient_id, sex) \
         SELECT $1, $2, s.position, s.ward, s.start_time, s.end_time, s.last, $8, $9, $10, $11, \
                (SELECT p.sex FROM statistics.patients p \
                 WHERE p.tenant_id = $1 AND p.patient_id = $11) \
         FROM unnest($3::integer[], $4::uuid[], $5::timestamptz[], $6::timestamptz[], \
                     $7::boolean[]) AS s(position, ward, start_time, end_time, last)",
    )
    .bind(tenant_id)
    .bind(admission.admission_id)
    .bind(&positions)
    .bind(&wards)
    .bind(&starts)
    .bind(&ends)
    .bind(&lasts)
    .bind(admission.facility_id)
    .bind(&admission.status)
    .bind(&admission.discharge_type)
    .bind(admission.patient_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Waits for any other follower's transaction writing what the stays hold of `patient_id`
/// (their sex, copied from the patient; the patient's stays) and holds the patient until
/// commit, so of two such transactions the second sees what the first committed.
async fn lock_patient(tx: &mut TenantTx, patient_id: Uuid) -> Result<()> {
    sqlx::query(
        "SELECT pg_advisory_xact_lock(hashtextextended('statistics.patient ' || $1::text, 0))",
    )
    .bind(patient_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records the admission's principal diagnosis (the latest recorded wins).
pub async fn set_principal(
    tx: &mut TenantTx,
    admission_id: Uuid,
    code: &str,
    recorded_at: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.principal_diagnoses AS p (tenant_id, admission_id, code, recorded_at) \
         VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, admission_id) DO UPDATE \
         SET code = EXCLUDED.code, recorded_at = EXCLUDED.recorded_at \
         WHERE p.recorded_at <= EXCLUDED.recorded_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(admission_id)
    .bind(code)
    .bind(recorded_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets the tenant's read models (before a rebuild).
pub async fn clear(tx: &mut TenantTx) -> Result<()> {
    let tenant_id = tx.tenant_id().as_uuid();
    for table in [
        "statistics.principal_diagnoses",
        "statistics.admissions",
        "statistics.sick_leaves",
        "statistics.patients",
        "statistics.operations",
        "statistics.beds",
        "statistics.departments",
        // Last: the deletes above take their counts out of them as they go.
        "statistics.wards_now",
        "statistics.ward_midnights",
    ] {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DELETE FROM {table} WHERE tenant_id = $1"
        )))
        .bind(tenant_id)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One ward's movement over a period.
#[derive(Debug, Clone, Default, FromRow)]
pub struct WardMovement {
    pub department_id: Uuid,
    pub admitted: i64,
    pub transferred_in: i64,
    pub transferred_out: i64,
    pub discharged: i64,
    pub deceased: i64,
    /// Exact days spent in the ward within the period.
    pub bed_days: f64,
}

/// The movement of a facility's wards (or one) in [`start`, `end`): entries, exits and the
/// days spent, per ward (who was present when: [`day_census`]). Presence at an instant `t`
/// is `start_time < t <= end_time` (an open stay has no end): a patient moved at `t` is
/// counted leaving on the day `t` falls in, and is no longer present after it, so each day's
/// end is the next day's start. Reads the stays alone: each carries its admission's facility
/// and outcome.
pub async fn ward_movement(
    tx: &mut TenantTx,
    facility_id: Uuid,
    department_id: Option<Uuid>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<WardMovement>> {
    Ok(sqlx::query_as(MOVEMENT.as_str())
        .bind(tx.tenant_id().as_uuid())
        .bind(facility_id)
        .bind(start)
        .bind(end)
        .bind(department_id)
        .bind(earliest_starts(start))
        .fetch_all(&mut **tx)
        .await?)
}

/// The length classes bounded by a window (`statistics.stays.length_class`: k when a stay
/// lasted at most 2^k hours); class 16, longer, is searched whole.
const BOUNDED_CLASSES: u32 = 16;

/// For each bounded length class k, the earliest start of a stay of that class still present
/// at `start`: 2^k hours before it, and an hour more for the class's rounding.
fn earliest_starts(start: DateTime<Utc>) -> Vec<DateTime<Utc>> {
    (0..BOUNDED_CLASSES)
        .map(|class| start - chrono::Duration::hours((1 << class) + 1))
        .collect()
}

/// The movement statement. The stays overlapping [`$3`, `$4`) are found as one range of
/// `stays_by_length` per length class (those of class k started at most 2^k hours before
/// `$3`: `$6[k + 1]`), the longest class whole and the open stays begun before `$4` through
/// `stays_open`. The days are summed as `float8` (`date_part`): `extract` would sum numerics.
static MOVEMENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let classes: Vec<String> = (0..BOUNDED_CLASSES)
        .map(|class| {
            format!(
                "(s.length_class = {class} AND s.start_time >= $6[{}])",
                class + 1
            )
        })
        .chain([format!("s.length_class = {BOUNDED_CLASSES}")])
        .collect();
    format!(
        "SELECT s.department_id, \
             count(*) FILTER (WHERE s.start_time >= $3 AND s.position = 0) AS admitted, \
             count(*) FILTER (WHERE s.start_time >= $3 AND s.position > 0) AS transferred_in, \
             count(*) FILTER (WHERE s.end_time < $4 AND NOT s.last) AS transferred_out, \
             count(*) FILTER (WHERE s.end_time < $4 AND s.last AND s.status = 'discharged' \
                                AND s.discharge_type <> 'deceased') AS discharged, \
             count(*) FILTER (WHERE s.end_time < $4 AND s.last AND s.status = 'discharged' \
                                AND s.discharge_type = 'deceased') AS deceased, \
             coalesce(sum(date_part('epoch', least(coalesce(s.end_time, $4), $4) \
                                             - greatest(s.start_time, $3)) / 86400.0), 0) \
                 AS bed_days \
         FROM statistics.stays s \
         WHERE s.tenant_id = $1 AND s.facility_id = $2 AND s.status <> 'cancelled' \
           AND ($5::uuid IS NULL OR s.department_id = $5) \
           AND s.start_time < $4 AND (s.end_time IS NULL OR s.end_time >= $3) \
           AND (s.end_time IS NULL OR {}) \
         GROUP BY s.department_id ORDER BY s.department_id",
        classes.join(" OR ")
    )
});

/// One ward's census of a day.
#[derive(Debug, Clone, Default, FromRow)]
pub struct DayCensus {
    pub department_id: Uuid,
    pub present_at_start: i64,
    pub admitted: i64,
    pub transferred_in: i64,
    pub transferred_out: i64,
    pub discharged: i64,
    pub deceased: i64,
    pub present_at_end: i64,
    /// Admitted and gone within the day.
    pub same_period_cases: i64,
}

/// How a census counts the open stays begun before the midnight it starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenStays {
    /// Those open now less those begun since the midnight: few when it is recent.
    FromNow,
    /// Each of them: few when the midnight is long past.
    Counted,
}

/// How recent a midnight is for its census to count the open stays [`OpenStays::FromNow`]:
/// about a stay's usual length, so that either way most patients in hospital now are not read.
const RECENT: chrono::TimeDelta = chrono::TimeDelta::days(7);

/// The UTC midnight nearest `instant` (a later one at noon).
fn nearest_midnight(instant: DateTime<Utc>) -> DateTime<Utc> {
    let day = chrono::TimeDelta::days(1);
    let midnight = instant
        .date_naive()
        .and_time(chrono::NaiveTime::MIN)
        .and_utc();
    if instant - midnight >= day / 2 {
        midnight + day
    } else {
        midnight
    }
}

/// The census of [`start`, `end`) (a day) of a facility's wards (or one), with the same
/// meaning of presence as [`ward_movement`], without reading every stay present that day:
/// who was present at the UTC midnight nearest `start` is kept per ward by the writes to the
/// stays (`statistics.ward_midnights`, migration 061); the stays begun or ended between that
/// midnight and `start`, and in the day, are read from their indexes. Every count follows
/// from presence at `t` being the stays begun before `t` less those ended before it.
pub async fn day_census(
    tx: &mut TenantTx,
    facility_id: Uuid,
    department_id: Option<Uuid>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<DayCensus>> {
    let midnight = nearest_midnight(start);
    let open = if midnight > Utc::now() - RECENT {
        OpenStays::FromNow
    } else {
        OpenStays::Counted
    };
    day_census_counting(tx, facility_id, department_id, (start, end), open).await
}

/// [`day_census`], counting the open stays as told.
pub async fn day_census_counting(
    tx: &mut TenantTx,
    facility_id: Uuid,
    department_id: Option<Uuid>,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    open: OpenStays,
) -> Result<Vec<DayCensus>> {
    let midnight = nearest_midnight(start);
    Ok(sqlx::query_as(DAY_CENSUS)
        .bind(tx.tenant_id().as_uuid())
        .bind(facility_id)
        .bind(start)
        .bind(end)
        .bind(midnight)
        .bind(midnight.min(start))
        .bind(department_id)
        .bind(open == OpenStays::FromNow)
        .fetch_all(&mut **tx)
        .await?)
}

/// The census statement: `$3`, `$4` the day, `$5` its nearest midnight, `$6` the earlier of
/// the two, `$7` one ward (or NULL), `$8` whether the open stays are counted from those open
/// now (kept at 'infinity') less those begun since the midnight. Presence at the day's start
/// is the midnight's, plus the stays begun and less those ended from the midnight to the
/// start (the other way round when the midnight is later); at its end, that plus the day's
/// comings less its goings.
const DAY_CENSUS: &str = "\
    SELECT department_id, sum(at_start)::bigint AS present_at_start, \
           sum(admitted)::bigint AS admitted, sum(transferred_in)::bigint AS transferred_in, \
           sum(transferred_out)::bigint AS transferred_out, \
           sum(discharged)::bigint AS discharged, sum(deceased)::bigint AS deceased, \
           (sum(at_start) + sum(net))::bigint AS present_at_end, \
           sum(same_period_cases)::bigint AS same_period_cases \
    FROM ( \
        SELECT m.department_id, m.present AS at_start, 0 AS admitted, 0 AS transferred_in, \
               0 AS transferred_out, 0 AS discharged, 0 AS deceased, 0 AS net, \
               0 AS same_period_cases \
        FROM statistics.ward_midnights m \
        WHERE m.tenant_id = $1 AND m.facility_id = $2 AND m.at = $5 \
          AND ($7::uuid IS NULL OR m.department_id = $7) \
        UNION ALL \
        SELECT m.department_id, m.present, 0, 0, 0, 0, 0, 0, 0 \
        FROM statistics.ward_midnights m \
        WHERE $8 AND m.tenant_id = $1 AND m.facility_id = $2 AND m.at = 'infinity' \
          AND ($7::uuid IS NULL OR m.department_id = $7) \
        UNION ALL \
        SELECT s.department_id, -count(*), 0, 0, 0, 0, 0, 0, 0 \
        FROM statistics.stays s \
        WHERE $8 AND s.tenant_id = $1 AND s.facility_id = $2 AND s.end_time IS NULL \
          AND s.status <> 'cancelled' AND ($7::uuid IS NULL OR s.department_id = $7) \
          AND s.start_time >= $5 \
        GROUP BY s.department_id \
        UNION ALL \
        SELECT s.department_id, count(*), 0, 0, 0, 0, 0, 0, 0 \
        FROM statistics.stays s \
        WHERE NOT $8 AND s.tenant_id = $1 AND s.facility_id = $2 AND s.end_time IS NULL \
          AND s.status <> 'cancelled' AND ($7::uuid IS NULL OR s.department_id = $7) \
          AND s.start_time < $5 \
        GROUP BY s.department_id \
        UNION ALL \
        SELECT s.department_id, \
               count(*) FILTER (WHERE s.start_time >= $5 AND s.start_time < $3) \
                 - count(*) FILTER (WHERE s.start_time >= $3 AND s.start_time < $5) \
                 - count(*) FILTER (WHERE s.end_time >= $5 AND s.end_time < $3) \
                 + count(*) FILTER (WHERE s.end_time >= $3 AND s.end_time < $5), \
               count(*) FILTER (WHERE s.start_time >= $3 AND s.start_time < $4 \
                                  AND s.position = 0), \
               count(*) FILTER (WHERE s.start_time >= $3 AND s.start_time < $4 \
                                  AND s.position > 0), \
               count(*) FILTER (WHERE s.end_time >= $3 AND s.end_time < $4 AND NOT s.last), \
               count(*) FILTER (WHERE s.end_time >= $3 AND s.end_time < $4 AND s.last \
                                  AND s.status = 'discharged' \
                                  AND s.discharge_type <> 'deceased'), \
               count(*) FILTER (WHERE s.end_time >= $3 AND s.end_time < $4 AND s.last \
                                  AND s.status = 'discharged' \
                                  AND s.discharge_type = 'deceased'), \
               count(*) FILTER (WHERE s.start_time >= $3 AND s.start_time < $4) \
                 - count(*) FILTER (WHERE s.end_time >= $3 AND s.end_time < $4), \
               count(*) FILTER (WHERE s.start_time >= $3 AND s.position = 0 AND s.last \
                                  AND s.end_time < $4) \
        FROM statistics.stays s \
        WHERE s.tenant_id = $1 AND s.facility_id = $2 AND s.status <> 'cancelled' \
          AND ($7::uuid IS NULL OR s.department_id = $7) \
          AND ((s.start_time >= $6 AND s.start_time < $4) \
               OR (s.end_time >= $6 AND s.end_time < $4)) \
        GROUP BY s.department_id \
    ) AS parts \
    GROUP BY department_id ORDER BY department_id";

/// Patients who left in [`start`, `end`), per diagnosis code (the principal one, else the
/// admitting one): (code, discharged alive, deceased, days of their whole stays).
pub async fn leavers_by_code(
    tx: &mut TenantTx,
    facility_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> Result<Vec<(String, i64, i64, f64)>> {
    Ok(sqlx::query_as(
        "SELECT coalesce(p.code, a.admitting_code) AS code, \
                count(*) FILTER (WHERE a.discharge_type <> 'deceased'), \
                count(*) FILTER (WHERE a.discharge_type = 'deceased'), \
                coalesce(sum(extract(epoch FROM a.discharge_time - a.admit_time) / 86400.0), \
                         0)::float8 \
         FROM statistics.admissions a \
         LEFT JOIN statistics.principal_diagnoses p ON p.tenant_id = a.tenant_id \
              AND p.admission_id = a.admission_id \
         WHERE a.tenant_id = $1 AND a.facility_id = $2 AND a.status = 'discharged' \
           AND a.discharge_time >= $3 AND a.discharge_time < $4 \
         GROUP BY 1 ORDER BY 1",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?)
}

/// A sick-leave certificate as Form 16 needs it.
#[derive(Debug, Clone)]
pub struct SickLeaveFacts {
    pub certificate_id: Uuid,
    pub patient_id: Uuid,
    pub facility_id: Uuid,
    pub first_certificate_id: Uuid,
    pub period_start: chrono::NaiveDate,
    pub period_end: chrono::NaiveDate,
    pub diagnosis_code: String,
}

pub async fn record_sick_leave(tx: &mut TenantTx, leave: &SickLeaveFacts) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.sick_leaves (tenant_id, certificate_id, patient_id, facility_id, \
             first_certificate_id, period_start, period_end, diagnosis_code) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(leave.certificate_id)
    .bind(leave.patient_id)
    .bind(leave.facility_id)
    .bind(leave.first_certificate_id)
    .bind(leave.period_start)
    .bind(leave.period_end)
    .bind(&leave.diagnosis_code)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps a patient's sex and birth date (a newer registry version replaces them).
pub async fn record_patient(
    tx: &mut TenantTx,
    patient_id: Uuid,
    version: i64,
    sex: &str,
    birth_date: Option<chrono::NaiveDate>,
) -> Result<()> {
    lock_patient(tx, patient_id).await?;
    let changed = sqlx::query(
        "INSERT INTO statistics.patients AS p (tenant_id, patient_id, version, sex, birth_date) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, patient_id) DO UPDATE \
         SET version = EXCLUDED.version, sex = EXCLUDED.sex, birth_date = EXCLUDED.birth_date \
         WHERE p.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(patient_id)
    .bind(version)
    .bind(sex)
    .bind(birth_date)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if changed > 0 {
        sqlx::query(
            "UPDATE statistics.stays SET sex = $3 \
             WHERE tenant_id = $1 AND patient_id = $2 AND sex IS DISTINCT FROM $3",
        )
        .bind(tx.tenant_id().as_uuid())
        .bind(patient_id)
        .bind(sex)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Sick-leave rows overlapping [`from`, `to`] (inclusive days): (diagnosis code of the
/// episode's first certificate, sex, age at the episode's start, begins an episode in the
/// period, days within the period).
pub async fn sick_leave_days(
    tx: &mut TenantTx,
    facility_id: Uuid,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<Vec<(String, String, Option<i32>, bool, i32)>> {
    Ok(sqlx::query_as(
        "SELECT f.diagnosis_code, coalesce(p.sex, 'unknown'), \
                extract(year FROM age(f.period_start, p.birth_date))::integer, \
                (s.certificate_id = s.first_certificate_id AND s.period_start >= $3) AS begins, \
                (least(s.period_end, $4) - greatest(s.period_start, $3) + 1)::integer AS days \
         FROM statistics.sick_leaves s \
         JOIN statistics.sick_leaves f ON f.tenant_id = s.tenant_id \
              AND f.certificate_id = s.first_certificate_id \
         LEFT JOIN statistics.patients p ON p.tenant_id = s.tenant_id \
              AND p.patient_id = s.patient_id \
         WHERE s.tenant_id = $1 AND s.facility_id = $2 \
           AND s.period_start <= $4 AND s.period_end >= $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(from)
    .bind(to)
    .fetch_all(&mut **tx)
    .await?)
}

/// A report submission as stored.
#[derive(Debug, Clone, FromRow)]
pub struct SubmissionRow {
    pub id: Uuid,
    pub facility_id: Uuid,
    pub report: String,
    pub period_from: chrono::NaiveDate,
    pub period_to: chrono::NaiveDate,
    pub revision: i32,
    pub schema_version: String,
    pub document: Vec<u8>,
    pub signature: Vec<u8>,
    pub key_id: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub receipt: Option<String>,
    pub rejection_reasons: Vec<String>,
    pub submitted_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
}

const SUBMISSION_COLUMNS: &str = "id, facility_id, report, period_from, period_to, revision, \
     schema_version, document, signature, key_id, status, attempts, next_attempt_at, \
     last_error, receipt, rejection_reasons, submitted_by, created_at, sent_at, decided_at";

/// What one exchange with the institute came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Delivered; the institute will decide later.
    Received {
        receipt: String,
    },
    Accepted {
        receipt: String,
    },
    Rejected {
        receipt: Option<String>,
        reasons: Vec<String>,
    },
    /// No answer worth the name; try again.
    Failed(String),
}

impl Outcome {
    pub fn name(&self) -> &'static str {
        match self {
            Self::Received { .. } => "received",
            Self::Accepted { .. } => "accepted",
            Self::Rejected { .. } => "rejected",
            Self::Failed(_) => "failed",
        }
    }
}

/// The next revision number of a report for a facility and period, taken under a lock on
/// the report's key so two submissions at once get 1 and 2, not 1 twice.
pub async fn next_revision(
    tx: &mut TenantTx,
    facility_id: Uuid,
    report: &str,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> Result<i32> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!(
            "statistics.submission:{facility_id}:{report}:{from}:{to}"
        ))
        .execute(&mut **tx)
        .await?;
    let (last,): (Option<i32>,) = sqlx::query_as(
        "SELECT max(revision) FROM statistics.submissions \
         WHERE tenant_id = $1 AND facility_id = $2 AND report = $3 AND period_from = $4 \
           AND period_to = $5",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(report)
    .bind(from)
    .bind(to)
    .fetch_one(&mut **tx)
    .await?;
    Ok(last.unwrap_or(0) + 1)
}

pub async fn insert_submission(tx: &mut TenantTx, row: &SubmissionRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.submissions (tenant_id, id, facility_id, report, period_from, \
             period_to, revision, schema_version, document, signature, key_id, status, attempts, \
             next_attempt_at, submitted_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'pending', 0, $12, $13, $14)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.id)
    .bind(row.facility_id)
    .bind(&row.report)
    .bind(row.period_from)
    .bind(row.period_to)
    .bind(row.revision)
    .bind(&row.schema_version)
    .bind(&row.document)
    .bind(&row.signature)
    .bind(&row.key_id)
    .bind(row.next_attempt_at)
    .bind(row.submitted_by)
    .bind(row.created_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_submission(tx: &mut TenantTx, id: Uuid) -> Result<Option<SubmissionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBMISSION_COLUMNS} FROM statistics.submissions \
         WHERE tenant_id = $1 AND id = $2"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// A facility's submissions, newest first, after the `after` key (created_at, id).
pub async fn list_submissions(
    tx: &mut TenantTx,
    facility_id: Uuid,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> Result<Vec<SubmissionRow>> {
    let (after_time, after_id) = after.unzip();
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SUBMISSION_COLUMNS} FROM statistics.submissions \
         WHERE tenant_id = $1 AND facility_id = $2 \
           AND ($3::timestamptz IS NULL OR (created_at, id) < ($3, $4)) \
         ORDER BY created_at DESC, id DESC LIMIT $5"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(after_time)
    .bind(after_id)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await?)
}

/// Submissions of every tenant due to be sent or asked about (the worker pool sees only
/// these three columns).
pub async fn due_submissions(
    worker_pool: &sqlx::PgPool,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT tenant_id, id FROM statistics.submissions \
         WHERE next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(worker_pool)
    .await?)
}

/// Takes a due submission for one exchange: locks it (skipping one another process holds),
/// moves its next attempt to `lease_until` and counts the attempt when it is a send.
pub async fn claim_submission(
    tx: &mut TenantTx,
    id: Uuid,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<SubmissionRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE statistics.submissions s SET next_attempt_at = $4, \
             attempts = s.attempts + (s.status = 'pending')::integer \
         FROM (SELECT id FROM statistics.submissions WHERE tenant_id = $1 AND id = $2 \
                 AND next_attempt_at <= $3 FOR UPDATE SKIP LOCKED) due \
         WHERE s.tenant_id = $1 AND s.id = due.id \
         RETURNING {}",
        SUBMISSION_COLUMNS
            .split(", ")
            .map(|column| format!("s.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(now)
    .bind(lease_until)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Records what an exchange came to, if the submission is still in the state it was claimed
/// in. A failure keeps the state and sets when to try again (`next`).
pub async fn record_outcome(
    tx: &mut TenantTx,
    id: Uuid,
    claimed_status: &str,
    outcome: &Outcome,
    now: DateTime<Utc>,
    next: DateTime<Utc>,
) -> Result<()> {
    let empty: &[String] = &[];
    let (status, receipt, reasons, error, next_attempt) = match outcome {
        Outcome::Received { receipt } => ("sent", Some(receipt.as_str()), empty, None, Some(next)),
        Outcome::Accepted { receipt } => ("accepted", Some(receipt.as_str()), empty, None, None),
        Outcome::Rejected { receipt, reasons } => (
            "rejected",
            receipt.as_deref(),
            reasons.as_slice(),
            None,
            None,
        ),
        Outcome::Failed(error) => (
            claimed_status,
            None,
            empty,
            Some(error.as_str()),
            Some(next),
        ),
    };
    sqlx::query(
        "UPDATE statistics.submissions SET status = $4, \
             receipt = coalesce($5, receipt), rejection_reasons = $6, last_error = $7, \
             next_attempt_at = $8, \
             sent_at = CASE WHEN $3 = 'pending' AND $4 <> 'pending' THEN $9 ELSE sent_at END, \
             decided_at = CASE WHEN $4 IN ('accepted', 'rejected') THEN $9 ELSE decided_at END \
         WHERE tenant_id = $1 AND id = $2 AND status = $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(id)
    .bind(claimed_status)
    .bind(status)
    .bind(receipt)
    .bind(reasons)
    .bind(error)
    .bind(next_attempt)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Which register [`register_entries`] reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Register {
    Admissions,
    Transfers,
    Discharges,
}

/// The filters of a register listing; `None` / empty means any.
#[derive(Debug, Clone, Default)]
pub struct RegisterFilter {
    pub department_id: Option<Uuid>,
    pub diagnosis_prefix: String,
    pub discharge_type: Option<String>,
    pub admission_type: Option<String>,
}

#[derive(Debug, Clone, FromRow)]
pub struct RegisterRow {
    pub admission_id: Uuid,
    pub admission_number: String,
    pub patient_id: Uuid,
    pub at: DateTime<Utc>,
    pub position: i32,
    pub department_id: Uuid,
    pub from_department_id: Option<Uuid>,
    pub admission_type: String,
    pub diagnosis_code: String,
    pub discharge_type: Option<String>,
    pub length_of_stay_days: Option<f64>,
}

/// One page of a register in [`start`, `end`), oldest first, after the key (time,
/// admission, stay position) of the last entry served.
#[allow(clippy::too_many_arguments)]
pub async fn register_entries(
    tx: &mut TenantTx,
    register: Register,
    facility_id: Uuid,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    filter: &RegisterFilter,
    after: Option<(DateTime<Utc>, Uuid, i32)>,
    limit: i64,
) -> Result<Vec<RegisterRow>> {
    // Each register picks its event (the first stay, a later stay, the departure) from the
    // same admission and stay rows; the rest of the statement is shared.
    let (entry, from_ward, ward_filter) = match register {
        Register::Admissions => (
            "s.position = 0 AND a.admit_time >= $3 AND a.admit_time < $4",
            "NULL::uuid",
            "s.department_id = $5",
        ),
        Register::Transfers => (
            "s.position > 0 AND s.start_time >= $3 AND s.start_time < $4",
            "p.department_id",
            "(s.department_id = $5 OR p.department_id = $5)",
        ),
        Register::Discharges => (
            "s.last AND a.status = 'discharged' AND a.discharge_time >= $3 \
             AND a.discharge_time < $4",
            "NULL::uuid",
            "s.department_id = $5",
        ),
    };
    let at = match register {
        Register::Admissions => "a.admit_time",
        Register::Transfers => "s.start_time",
        Register::Discharges => "a.discharge_time",
    };
    let sql = format!(
        "SELECT a.admission_id, a.admission_number, a.patient_id, {at} AS at, s.position, \
                s.department_id, {from_ward} AS from_department_id, a.admission_type, \
                coalesce(d.code, a.admitting_code) AS diagnosis_code, \
                CASE WHEN a.status = 'discharged' THEN a.discharge_type END AS discharge_type, \
                CASE WHEN a.status = 'discharged' THEN \
                    extract(epoch FROM a.discharge_time - a.admit_time)::float8 / 86400.0 \
                END AS length_of_stay_days \
         FROM statistics.stays s \
         JOIN statistics.admissions a ON a.tenant_id = s.tenant_id \
              AND a.admission_id = s.admission_id \
         LEFT JOIN statistics.stays p ON p.tenant_id = s.tenant_id \
              AND p.admission_id = s.admission_id AND p.position = s.position - 1 \
         LEFT JOIN statistics.principal_diagnoses d ON d.tenant_id = a.tenant_id \
              AND d.admission_id = a.admission_id \
         WHERE s.tenant_id = $1 AND a.facility_id = $2 AND a.status <> 'cancelled' \
           AND {entry} \
           AND ($5::uuid IS NULL OR {ward_filter}) \
           AND coalesce(d.code, a.admitting_code) LIKE $6 || '%' \
           AND ($7::text IS NULL OR a.discharge_type = $7) \
           AND ($8::text IS NULL OR a.admission_type = $8) \
           AND ($9::timestamptz IS NULL OR ({at}, a.admission_id, s.position) > ($9, $10, $11)) \
         ORDER BY {at}, a.admission_id, s.position LIMIT $12"
    );
    let (after_time, after_id, after_position) = match after {
        Some((time, id, position)) => (Some(time), Some(id), Some(position)),
        None => (None, None, None),
    };
    // LIKE's own wildcards in a prefix are taken literally.
    let prefix = filter
        .diagnosis_prefix
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(tx.tenant_id().as_uuid())
        .bind(facility_id)
        .bind(start)
        .bind(end)
        .bind(filter.department_id)
        .bind(prefix)
        .bind(&filter.discharge_type)
        .bind(&filter.admission_type)
        .bind(after_time)
        .bind(after_id)
        .bind(after_position)
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?)
}

/// An operation as the operating block last published it.
#[derive(Debug, Clone)]
pub struct OperationFacts {
    pub operation_id: Uuid,
    pub version: i64,
    pub facility_id: Uuid,
    pub theatre_id: Uuid,
    pub patient_id: Uuid,
    pub primary_surgeon_id: Uuid,
    pub specialty_code: String,
    pub priority: String,
    pub max_grade: i16,
    pub status: String,
    pub cancel_reason: String,
    pub planned: (DateTime<Utc>, DateTime<Utc>),
    pub into_room: Option<DateTime<Utc>>,
    pub out_of_room: Option<DateTime<Utc>>,
}

/// Stores the operation unless a version as new is stored already.
pub async fn replace_operation(tx: &mut TenantTx, facts: &OperationFacts) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.operations AS o (tenant_id, operation_id, version, facility_id, \
             theatre_id, patient_id, primary_surgeon_id, specialty_code, priority, max_grade, \
             status, cancel_reason, planned_start, planned_end, into_room, out_of_room) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (tenant_id, operation_id) DO UPDATE SET version = EXCLUDED.version, \
             facility_id = EXCLUDED.facility_id, theatre_id = EXCLUDED.theatre_id, \
             patient_id = EXCLUDED.patient_id, primary_surgeon_id = EXCLUDED.primary_surgeon_id, \
             specialty_code = EXCLUDED.specialty_code, priority = EXCLUDED.priority, \
             max_grade = EXCLUDED.max_grade, status = EXCLUDED.status, \
             cancel_reason = EXCLUDED.cancel_reason, planned_start = EXCLUDED.planned_start, \
             planned_end = EXCLUDED.planned_end, into_room = EXCLUDED.into_room, \
             out_of_room = EXCLUDED.out_of_room \
         WHERE o.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facts.operation_id)
    .bind(facts.version)
    .bind(facts.facility_id)
    .bind(facts.theatre_id)
    .bind(facts.patient_id)
    .bind(facts.primary_surgeon_id)
    .bind(&facts.specialty_code)
    .bind(&facts.priority)
    .bind(facts.max_grade)
    .bind(&facts.status)
    .bind(&facts.cancel_reason)
    .bind(facts.planned.0)
    .bind(facts.planned.1)
    .bind(facts.into_room)
    .bind(facts.out_of_room)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Operations of a facility planned to start in `[start, end)`, counted by `group` (a column
/// of `statistics.operations`, chosen by the caller from a fixed list).
#[derive(Debug, Clone, FromRow)]
pub struct ActivityRow {
    pub grouped: String,
    pub completed: i64,
    pub cancelled: i64,
    pub open: i64,
}

pub async fn surgical_activity(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    group: SurgicalGroup,
) -> Result<Vec<ActivityRow>> {
    let column = match group {
        SurgicalGroup::Specialty => "specialty_code",
        SurgicalGroup::Grade => "max_grade::text",
        SurgicalGroup::Priority => "priority",
        SurgicalGroup::Surgeon => "primary_surgeon_id::text",
    };
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {column} AS grouped, \
             count(*) FILTER (WHERE status = 'completed') AS completed, \
             count(*) FILTER (WHERE status IN ('cancelled', 'bumped')) AS cancelled, \
             count(*) FILTER (WHERE status IN ('scheduled', 'in_progress')) AS open \
         FROM statistics.operations \
         WHERE facility_id = $1 AND planned_start >= $2 AND planned_start < $3 \
         GROUP BY 1 ORDER BY 1"
    )))
    .bind(facility_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?)
}

/// What surgical activity is grouped by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SurgicalGroup {
    Specialty,
    Grade,
    Priority,
    Surgeon,
}

pub async fn cancellation_reasons(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT CASE WHEN status = 'bumped' THEN 'bumped by an emergency' ELSE cancel_reason END, \
             count(*) FROM statistics.operations \
         WHERE facility_id = $1 AND planned_start >= $2 AND planned_start < $3 \
           AND status IN ('cancelled', 'bumped') \
         GROUP BY 1 ORDER BY 2 DESC, 1",
    )
    .bind(facility_id)
    .bind(start)
    .bind(end)
    .fetch_all(&mut **tx)
    .await?)
}

/// Urgent or emergency operations that went into the room in `[start, end)` on a patient
/// whose earlier operation left the room within the 30 days before.
pub async fn unplanned_returns(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM statistics.operations r \
         WHERE r.facility_id = $1 AND r.into_room >= $2 AND r.into_room < $3 \
           AND r.priority IN ('urgent', 'emergency') \
           AND EXISTS (SELECT 1 FROM statistics.operations e \
               WHERE e.tenant_id = r.tenant_id AND e.patient_id = r.patient_id \
                 AND e.operation_id <> r.operation_id AND e.status = 'completed' \
                 AND e.out_of_room <= r.into_room \
                 AND e.out_of_room > r.into_room - interval '30 days')",
    )
    .bind(facility_id)
    .bind(start)
    .bind(end)
    .fetch_one(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct UtilisationRow {
    pub theatre_id: Uuid,
    pub operations: i64,
    pub booked_minutes: i64,
    pub used_minutes: i64,
    pub late_starts: i64,
    pub turnovers: i64,
    pub turnover_minutes: f64,
}

/// Per theatre, operations planned to start in `[start, end)`: booked and used minutes, days
/// whose first operation started late, and changeovers between consecutive operations of a
/// day (cut in `zone`).
pub async fn theatre_utilisation(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    zone: &str,
) -> Result<Vec<UtilisationRow>> {
    Ok(sqlx::query_as(
        "WITH ops AS ( \
             SELECT theatre_id, planned_start, planned_end, into_room, out_of_room, status, \
                 (planned_start AT TIME ZONE $4)::date AS day, \
                 row_number() OVER (PARTITION BY theatre_id, (planned_start AT TIME ZONE $4)::date \
                                    ORDER BY coalesce(into_room, planned_start)) AS nth, \
                 lag(out_of_room) OVER (PARTITION BY theatre_id, \
                                        (planned_start AT TIME ZONE $4)::date, \
                                        status = 'completed' \
                                    ORDER BY into_room) AS previous_out \
             FROM statistics.operations \
             WHERE facility_id = $1 AND planned_start >= $2 AND planned_start < $3 \
               AND status NOT IN ('cancelled', 'bumped')) \
         SELECT theatre_id, count(*) AS operations, \
             coalesce(sum(extract(epoch FROM planned_end - planned_start) / 60), 0)::int8 \
                 AS booked_minutes, \
             coalesce(sum(extract(epoch FROM out_of_room - into_room) / 60) \
                 FILTER (WHERE status = 'completed'), 0)::int8 AS used_minutes, \
             count(*) FILTER (WHERE nth = 1 AND into_room > planned_start + interval '15 minutes') \
                 AS late_starts, \
             count(*) FILTER (WHERE status = 'completed' AND previous_out IS NOT NULL) \
                 AS turnovers, \
             coalesce(avg(extract(epoch FROM into_room - previous_out) / 60) \
                 FILTER (WHERE status = 'completed' AND previous_out IS NOT NULL), 0)::float8 \
                 AS turnover_minutes \
         FROM ops GROUP BY theatre_id ORDER BY theatre_id",
    )
    .bind(facility_id)
    .bind(start)
    .bind(end)
    .bind(zone)
    .fetch_all(&mut **tx)
    .await?)
}

/// Keeps a department of the register unless a version as new is kept already.
pub async fn keep_department(
    tx: &mut TenantTx,
    (department_id, version): (Uuid, i64),
    (facility_id, code, kind, active): (Uuid, &str, &str, bool),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.departments AS d (tenant_id, department_id, version, facility_id, \
             code, kind, active) VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (tenant_id, department_id) DO UPDATE SET version = EXCLUDED.version, \
             facility_id = EXCLUDED.facility_id, code = EXCLUDED.code, kind = EXCLUDED.kind, \
             active = EXCLUDED.active \
         WHERE d.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department_id)
    .bind(version)
    .bind(facility_id)
    .bind(code)
    .bind(kind)
    .bind(active)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Keeps a bed of the register unless a version as new is kept already.
pub async fn keep_bed(
    tx: &mut TenantTx,
    (bed_id, version): (Uuid, i64),
    (department_id, state, active): (Uuid, &str, bool),
) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.beds AS b (tenant_id, bed_id, version, department_id, state, \
             active) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, bed_id) DO UPDATE SET version = EXCLUDED.version, \
             department_id = EXCLUDED.department_id, state = EXCLUDED.state, \
             active = EXCLUDED.active \
         WHERE b.version < EXCLUDED.version",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(bed_id)
    .bind(version)
    .bind(department_id)
    .bind(state)
    .bind(active)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A ward now: its active beds by state and the patients in it by sex.
#[derive(Debug, Clone, Default, FromRow)]
pub struct WardNow {
    pub department_id: Uuid,
    pub free: i64,
    pub occupied: i64,
    pub reserved: i64,
    pub cleaning: i64,
    pub blocked: i64,
    pub male: i64,
    pub female: i64,
    pub other: i64,
}

/// Every active ward and intensive care unit of a facility, by code, with its beds by state
/// and who is in it now by sex: the counters `statistics.wards_now`, which the writes to the
/// beds and the stays keep (migration 060), instead of counting beds and stays on each call.
pub async fn wards_now(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<WardNow>> {
    Ok(sqlx::query_as(
        "SELECT w.department_id, coalesce(n.free, 0) AS free, \
             coalesce(n.occupied, 0) AS occupied, coalesce(n.reserved, 0) AS reserved, \
             coalesce(n.cleaning, 0) AS cleaning, coalesce(n.blocked, 0) AS blocked, \
             coalesce(n.male, 0) AS male, coalesce(n.female, 0) AS female, \
             coalesce(n.other, 0) AS other \
         FROM statistics.departments w \
         LEFT JOIN statistics.wards_now n ON n.tenant_id = w.tenant_id \
              AND n.department_id = w.department_id \
         WHERE w.tenant_id = $1 AND w.facility_id = $2 AND w.active \
           AND w.kind IN ('ward', 'intensive_care') \
         ORDER BY w.code",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// A report schedule as stored.
#[derive(Debug, Clone, FromRow)]
pub struct ScheduleRow {
    pub facility_id: Uuid,
    pub report: String,
    pub day_of_month: i16,
    pub hour: i16,
    pub time_zone: String,
    pub enabled: bool,
    pub next_period_from: chrono::NaiveDate,
    pub next_run_at: DateTime<Utc>,
    pub last_submission_id: Option<Uuid>,
    pub last_error: Option<String>,
    pub updated_by: Uuid,
    pub updated_at: DateTime<Utc>,
}

const SCHEDULE_COLUMNS: &str = "facility_id, report, day_of_month, hour, time_zone, enabled, \
     next_period_from, next_run_at, last_submission_id, last_error, updated_by, updated_at";

/// The schedule of `report` in `facility_id`, locked for the change being made.
pub async fn get_schedule(
    tx: &mut TenantTx,
    facility_id: Uuid,
    report: &str,
) -> Result<Option<ScheduleRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM statistics.report_schedules \
         WHERE tenant_id = $1 AND facility_id = $2 AND report = $3 FOR UPDATE"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(report)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Stores a schedule as it now is.
pub async fn put_schedule(tx: &mut TenantTx, row: &ScheduleRow) -> Result<()> {
    sqlx::query(
        "INSERT INTO statistics.report_schedules (tenant_id, facility_id, report, day_of_month, \
             hour, time_zone, enabled, next_period_from, next_run_at, last_submission_id, \
             last_error, updated_by, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
         ON CONFLICT (tenant_id, facility_id, report) DO UPDATE SET \
             day_of_month = EXCLUDED.day_of_month, hour = EXCLUDED.hour, \
             time_zone = EXCLUDED.time_zone, enabled = EXCLUDED.enabled, \
             next_period_from = EXCLUDED.next_period_from, next_run_at = EXCLUDED.next_run_at, \
             last_submission_id = EXCLUDED.last_submission_id, \
             last_error = EXCLUDED.last_error, updated_by = EXCLUDED.updated_by, \
             updated_at = EXCLUDED.updated_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(row.facility_id)
    .bind(&row.report)
    .bind(row.day_of_month)
    .bind(row.hour)
    .bind(&row.time_zone)
    .bind(row.enabled)
    .bind(row.next_period_from)
    .bind(row.next_run_at)
    .bind(row.last_submission_id)
    .bind(&row.last_error)
    .bind(row.updated_by)
    .bind(row.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A facility's schedules, by report.
pub async fn schedules_of(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<ScheduleRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {SCHEDULE_COLUMNS} FROM statistics.report_schedules \
         WHERE tenant_id = $1 AND facility_id = $2 ORDER BY report"
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

/// Schedules of every tenant whose run is due (the worker pool sees only these columns).
pub async fn due_schedules(
    worker_pool: &sqlx::PgPool,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT tenant_id, facility_id, report FROM statistics.report_schedules \
         WHERE enabled AND next_run_at <= $1 ORDER BY next_run_at LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(worker_pool)
    .await?)
}

/// Takes a due schedule for one run: locks it (skipping one another process holds) and moves
/// its next run to `lease_until`, so a crash mid-run only delays it.
pub async fn claim_schedule(
    tx: &mut TenantTx,
    (facility_id, report): (Uuid, &str),
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
) -> Result<Option<ScheduleRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "UPDATE statistics.report_schedules s SET next_run_at = $5 \
         FROM (SELECT facility_id, report FROM statistics.report_schedules \
               WHERE tenant_id = $1 AND facility_id = $2 AND report = $3 AND enabled \
                 AND next_run_at <= $4 FOR UPDATE SKIP LOCKED) due \
         WHERE s.tenant_id = $1 AND s.facility_id = due.facility_id AND s.report = due.report \
         RETURNING {}",
        SCHEDULE_COLUMNS
            .split(", ")
            .map(|column| format!("s.{column}"))
            .collect::<Vec<_>>()
            .join(", ")
    )))
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(report)
    .bind(now)
    .bind(lease_until)
    .fetch_optional(&mut **tx)
    .await?)
}

/// Records a schedule's run: the month it submitted (then the next month and its time) or
/// why it failed (then when it is tried again).
pub async fn record_schedule_run(
    tx: &mut TenantTx,
    (facility_id, report): (Uuid, &str),
    next: (chrono::NaiveDate, DateTime<Utc>),
    outcome: Result<Uuid, String>,
) -> Result<()> {
    let (submission, error) = match outcome {
        Ok(id) => (Some(id), None),
        Err(error) => (None, Some(error)),
    };
    sqlx::query(
        "UPDATE statistics.report_schedules SET next_period_from = $4, next_run_at = $5, \
             last_submission_id = coalesce($6, last_submission_id), last_error = $7 \
         WHERE tenant_id = $1 AND facility_id = $2 AND report = $3",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(report)
    .bind(next.0)
    .bind(next.1)
    .bind(submission)
    .bind(error)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
