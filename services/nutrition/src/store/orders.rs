//! The wards' meal orders and their lines, the rounds of sending them at each cut-off, the
//! days whose ingredients were issued, and the reports over them.

use chrono::NaiveDate;
use sqlx::PgPool;

use super::*;
use crate::domain::LineKind;

hmis_platform::labels!(
    OrderStatus {
        Open => "open",
        Sent => "sent",
    }
);

#[derive(Debug, Clone, FromRow)]
pub struct MealOrderRow {
    pub id: Uuid,
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub day: NaiveDate,
    pub meal: Meal,
    pub cutoff_at: DateTime<Utc>,
    pub serve_at: DateTime<Utc>,
    pub status: OrderStatus,
    pub sent_at: Option<DateTime<Utc>>,
}

const MEAL_ORDER_COLUMNS: &str =
    "id, facility_id, department_id, day, meal, cutoff_at, serve_at, status, sent_at";

/// A ward's meal, and when its order closes and it is served.
#[derive(Debug, Clone, Copy)]
pub struct MealKey {
    pub facility_id: Uuid,
    pub department_id: Uuid,
    pub day: NaiveDate,
    pub meal: Meal,
    pub cutoff_at: DateTime<Utc>,
    pub serve_at: DateTime<Utc>,
}

/// The ward's order for the meal, opened if it has none yet, taken for update.
pub async fn open_meal_order(tx: &mut TenantTx, key: &MealKey) -> Result<MealOrderRow> {
    sqlx::query(
        "INSERT INTO nutrition.meal_orders (tenant_id, id, facility_id, department_id, day, \
         meal, cutoff_at, serve_at, status) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open') \
         ON CONFLICT (tenant_id, department_id, day, meal) DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(Uuid::now_v7())
    .bind(key.facility_id)
    .bind(key.department_id)
    .bind(key.day)
    .bind(key.meal)
    .bind(key.cutoff_at)
    .bind(key.serve_at)
    .execute(&mut **tx)
    .await?;
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEAL_ORDER_COLUMNS} FROM nutrition.meal_orders \
         WHERE department_id = $1 AND day = $2 AND meal = $3 FOR UPDATE"
    )))
    .bind(key.department_id)
    .bind(key.day)
    .bind(key.meal)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("meal order"))
}

pub async fn mark_sent(tx: &mut TenantTx, ids: &[Uuid], now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "UPDATE nutrition.meal_orders SET status = 'sent', sent_at = $2 \
         WHERE id = ANY($1) AND status = 'open'",
    )
    .bind(ids)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The facility's meal orders of a day (every ward, every meal).
pub async fn meal_orders_of_day(
    tx: &mut TenantTx,
    facility_id: Uuid,
    day: NaiveDate,
) -> Result<Vec<MealOrderRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEAL_ORDER_COLUMNS} FROM nutrition.meal_orders \
         WHERE facility_id = $1 AND day = $2 ORDER BY serve_at, department_id"
    )))
    .bind(facility_id)
    .bind(day)
    .fetch_all(&mut **tx)
    .await?)
}

/// The sent orders not yet served at `now` that a change of the patient may amend: those of
/// `wards` and those the patient is on.
pub async fn orders_to_amend(
    tx: &mut TenantTx,
    patient_id: Uuid,
    wards: &[Uuid],
    now: DateTime<Utc>,
) -> Result<Vec<MealOrderRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {MEAL_ORDER_COLUMNS} FROM nutrition.meal_orders o \
         WHERE status = 'sent' AND serve_at > $3 AND (department_id = ANY($2) OR id IN \
           (SELECT meal_order_id FROM nutrition.meal_order_lines WHERE patient_id = $1)) \
         ORDER BY serve_at FOR UPDATE"
    )))
    .bind(patient_id)
    .bind(wards)
    .bind(now)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct LineRow {
    pub meal_order_id: Uuid,
    pub kind: LineKind,
    pub patient_id: Option<Uuid>,
    pub admission_id: Option<Uuid>,
    pub bed_id: Option<Uuid>,
    pub diet_id: Uuid,
    pub portions: i32,
    pub amendment: bool,
    pub reason: String,
}

pub async fn insert_lines(
    tx: &mut TenantTx,
    lines: &[LineRow],
    added_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<()> {
    if lines.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = lines.iter().map(|_| Uuid::now_v7()).collect();
    let orders: Vec<Uuid> = lines.iter().map(|line| line.meal_order_id).collect();
    let kinds: Vec<&str> = lines.iter().map(|line| line.kind.as_db()).collect();
    let patients: Vec<Option<Uuid>> = lines.iter().map(|line| line.patient_id).collect();
    let admissions: Vec<Option<Uuid>> = lines.iter().map(|line| line.admission_id).collect();
    let beds: Vec<Option<Uuid>> = lines.iter().map(|line| line.bed_id).collect();
    let diets: Vec<Uuid> = lines.iter().map(|line| line.diet_id).collect();
    let portions: Vec<i32> = lines.iter().map(|line| line.portions).collect();
    let amendments: Vec<bool> = lines.iter().map(|line| line.amendment).collect();
    let reasons: Vec<&str> = lines.iter().map(|line| line.reason.as_str()).collect();
    sqlx::query(
        "INSERT INTO nutrition.meal_order_lines (tenant_id, id, meal_order_id, kind, \
         patient_id, admission_id, bed_id, diet_id, portions, amendment, reason, added_by, \
         created_at) \
         SELECT $1, i, o, k, p, a, b, d, n, m, r, $12, $13 \
         FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[], \
                     $8::uuid[], $9::int[], $10::bool[], $11::text[]) \
         AS t (i, o, k, p, a, b, d, n, m, r)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(ids)
    .bind(orders)
    .bind(kinds)
    .bind(patients)
    .bind(admissions)
    .bind(beds)
    .bind(diets)
    .bind(portions)
    .bind(amendments)
    .bind(reasons)
    .bind(added_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The lines of `orders`, in the order they were added.
pub async fn lines_of(tx: &mut TenantTx, orders: &[Uuid]) -> Result<Vec<LineRow>> {
    Ok(sqlx::query_as(
        "SELECT meal_order_id, kind, patient_id, admission_id, bed_id, diet_id, portions, \
         amendment, reason FROM nutrition.meal_order_lines WHERE meal_order_id = ANY($1) \
         ORDER BY id",
    )
    .bind(orders)
    .fetch_all(&mut **tx)
    .await?)
}

/// Takes the sending of a facility's meal; false when it was sent already.
pub async fn start_round(
    tx: &mut TenantTx,
    (facility_id, day, meal): (Uuid, NaiveDate, Meal),
    now: DateTime<Utc>,
) -> Result<bool> {
    let taken: Option<NaiveDate> = sqlx::query_scalar(
        "INSERT INTO nutrition.meal_rounds (tenant_id, facility_id, day, meal, sent_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING day",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(day)
    .bind(meal)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(taken.is_some())
}

/// Whether the facility's meal was sent.
pub async fn round_sent(
    tx: &mut TenantTx,
    (facility_id, day, meal): (Uuid, NaiveDate, Meal),
) -> Result<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM nutrition.meal_rounds WHERE facility_id = $1 \
         AND day = $2 AND meal = $3)",
    )
    .bind(facility_id)
    .bind(day)
    .bind(meal)
    .fetch_one(&mut **tx)
    .await?)
}

/// A facility's meal whose cut-off passed and whose orders were not sent.
#[derive(Debug, Clone, FromRow)]
pub struct DueRound {
    pub tenant_id: Uuid,
    pub facility_id: Uuid,
    pub day: NaiveDate,
    pub meal: Meal,
}

/// Every facility's meal of today or yesterday (in the facility's zone) whose cut-off passed
/// by `now`, after its kitchen was set up, and whose orders were not sent (worker pool).
pub async fn due_rounds(worker_pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<DueRound>> {
    Ok(sqlx::query_as(
        "SELECT k.tenant_id, k.facility_id, d.day, m.meal \
         FROM nutrition.kitchens k \
         JOIN nutrition.meal_times m \
           ON m.tenant_id = k.tenant_id AND m.facility_id = k.facility_id \
         CROSS JOIN LATERAL (SELECT (($1::timestamptz AT TIME ZONE k.time_zone)::date - back) \
                             AS day FROM generate_series(0, 1) AS back) d \
         WHERE ((d.day + m.cutoff) AT TIME ZONE k.time_zone) <= $1 \
           AND ((d.day + m.cutoff) AT TIME ZONE k.time_zone) >= k.created_at \
           AND NOT EXISTS (SELECT 1 FROM nutrition.meal_rounds r \
                           WHERE r.tenant_id = k.tenant_id AND r.facility_id = k.facility_id \
                             AND r.day = d.day AND r.meal = m.meal) \
         ORDER BY d.day, m.cutoff",
    )
    .bind(now)
    .fetch_all(worker_pool)
    .await?)
}

/// A day's issue of ingredients: what is to be issued (item, quantity as a decimal), and when
/// the ledger moved it.
#[derive(Debug, Clone)]
pub struct IssueRow {
    pub lines: Vec<(Uuid, String)>,
    pub issued_at: Option<DateTime<Utc>>,
}

/// The facility's issue of `day`, if one was asked for; `lock` takes it for update.
pub async fn get_issue(
    tx: &mut TenantTx,
    (facility_id, day): (Uuid, NaiveDate),
    lock: bool,
) -> Result<Option<IssueRow>> {
    let lock = if lock { " FOR UPDATE" } else { "" };
    /// What is to be issued, and when it was.
    type Stored = (
        sqlx::types::Json<Vec<(Uuid, String)>>,
        Option<DateTime<Utc>>,
    );
    let row: Option<Stored> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT lines, issued_at FROM nutrition.issues WHERE facility_id = $1 AND day = $2{lock}"
    )))
    .bind(facility_id)
    .bind(day)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|(lines, issued_at)| IssueRow {
        lines: lines.0,
        issued_at,
    }))
}

/// Keeps what a day's issue is to be (a second asker finds the first's, [`get_issue`]).
pub async fn request_issue(
    tx: &mut TenantTx,
    (facility_id, day): (Uuid, NaiveDate),
    lines: &[(Uuid, String)],
    requested_by: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.issues (tenant_id, facility_id, day, lines, requested_by, \
         requested_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(day)
    .bind(sqlx::types::Json(lines))
    .bind(requested_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records what the ledger moved for a day's issue, with each item's quantity and value;
/// false when it was recorded already.
pub async fn record_issue(
    tx: &mut TenantTx,
    (facility_id, day): (Uuid, NaiveDate),
    moved: &[crate::directory::Moved],
    now: DateTime<Utc>,
) -> Result<bool> {
    let movement_ids: Vec<Uuid> = moved.iter().map(|m| m.movement_id).collect();
    let recorded = sqlx::query(
        "UPDATE nutrition.issues SET movement_ids = $3, issued_at = $4 \
         WHERE facility_id = $1 AND day = $2 AND issued_at IS NULL",
    )
    .bind(facility_id)
    .bind(day)
    .bind(&movement_ids)
    .bind(now)
    .execute(&mut **tx)
    .await?
    .rows_affected();
    if recorded == 0 {
        return Ok(false);
    }
    let items: Vec<Uuid> = moved.iter().map(|m| m.item_id).collect();
    let quantities: Vec<&str> = moved.iter().map(|m| m.quantity.as_str()).collect();
    let costs: Vec<&str> = moved.iter().map(|m| m.unit_cost.as_str()).collect();
    sqlx::query(
        "INSERT INTO nutrition.issue_lines (tenant_id, facility_id, day, item_id, quantity, \
         value) \
         SELECT $1, $2, $3, i, sum(q::numeric), round(sum(q::numeric * c::numeric), 4) \
         FROM unnest($4::uuid[], $5::text[], $6::text[]) AS t (i, q, c) GROUP BY i",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(day)
    .bind(items)
    .bind(quantities)
    .bind(costs)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// When the facility's ingredients of `day` were issued, if they were.
pub async fn issued_at(
    tx: &mut TenantTx,
    (facility_id, day): (Uuid, NaiveDate),
) -> Result<Option<DateTime<Utc>>> {
    Ok(get_issue(tx, (facility_id, day), false)
        .await?
        .and_then(|issue| issue.issued_at))
}

/// Portions served per ward and diet over `days` (sent orders, amendments included).
pub async fn portions_by_ward(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<(Uuid, Uuid, String, i64)>> {
    Ok(sqlx::query_as(
        "SELECT o.department_id, l.diet_id, d.code, sum(l.portions)::bigint \
         FROM nutrition.meal_orders o \
         JOIN nutrition.meal_order_lines l \
           ON l.tenant_id = o.tenant_id AND l.meal_order_id = o.id \
         JOIN nutrition.diets d ON d.tenant_id = l.tenant_id AND d.id = l.diet_id \
         WHERE o.facility_id = $1 AND o.day BETWEEN $2 AND $3 AND o.status = 'sent' \
         GROUP BY o.department_id, l.diet_id, d.code \
         HAVING sum(l.portions) <> 0 ORDER BY o.department_id, d.code",
    )
    .bind(facility_id)
    .bind(first)
    .bind(last)
    .fetch_all(&mut **tx)
    .await?)
}

/// Patients on the facility's sent meal orders over `days`, each counted once per day.
pub async fn patient_days(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(DISTINCT (day, patient_id)) FROM ( \
           SELECT o.day, l.patient_id FROM nutrition.meal_orders o \
           JOIN nutrition.meal_order_lines l \
             ON l.tenant_id = o.tenant_id AND l.meal_order_id = o.id \
           WHERE o.facility_id = $1 AND o.day BETWEEN $2 AND $3 AND o.status = 'sent' \
             AND l.kind = 'patient' \
           GROUP BY o.id, o.day, l.patient_id HAVING sum(l.portions) > 0) AS fed",
    )
    .bind(facility_id)
    .bind(first)
    .bind(last)
    .fetch_one(&mut **tx)
    .await?)
}

/// Ingredients issued over `days`: item, code, name, unit, quantity and value (decimals).
pub async fn consumption(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (first, last): (NaiveDate, NaiveDate),
) -> Result<Vec<(Uuid, String, String, String, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT l.item_id, i.code, i.name, i.base_unit, sum(l.quantity)::text, \
         sum(l.value)::text FROM nutrition.issue_lines l \
         JOIN nutrition.ingredients i ON i.tenant_id = l.tenant_id AND i.item_id = l.item_id \
         WHERE l.facility_id = $1 AND l.day BETWEEN $2 AND $3 \
         GROUP BY l.item_id, i.code, i.name, i.base_unit ORDER BY i.code",
    )
    .bind(facility_id)
    .bind(first)
    .bind(last)
    .fetch_all(&mut **tx)
    .await?)
}
