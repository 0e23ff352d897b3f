//! The only SQL of the nutrition module, to the `nutrition` schema only. Every function
//! takes the caller's tenant transaction, so row-level security keeps it to that tenant
//! (the cut-off job's search for due meals, across tenants, takes the worker pool).
//! Quantities travel as text (`numeric::text`, `$n::numeric`).

mod kitchen;
mod orders;
mod patients;

pub use kitchen::*;
pub use orders::*;
pub use patients::*;

use chrono::{DateTime, NaiveTime, Utc};
use hmis_platform::TenantTx;
use sqlx::FromRow;
use uuid::Uuid;

use crate::domain::{DietKind, Meal, Targets};
use crate::error::{Error, Result};

#[derive(Debug, Clone, FromRow)]
pub struct DietRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub kind: DietKind,
    pub energy_kcal_min: i32,
    pub energy_kcal_max: i32,
    pub protein_g_min: i32,
    pub fat_g_max: i32,
    pub carbohydrate_g_max: i32,
    pub sodium_mg_max: i32,
}

impl DietRow {
    pub fn targets(&self) -> Targets {
        Targets {
            energy_kcal_min: self.energy_kcal_min,
            energy_kcal_max: self.energy_kcal_max,
            protein_g_min: self.protein_g_min,
            fat_g_max: self.fat_g_max,
            carbohydrate_g_max: self.carbohydrate_g_max,
            sodium_mg_max: self.sodium_mg_max,
        }
    }
}

const DIET_COLUMNS: &str = "id, code, name, kind, energy_kcal_min, energy_kcal_max, \
     protein_g_min, fat_g_max, carbohydrate_g_max, sodium_mg_max";

pub async fn insert_diet(tx: &mut TenantTx, diet: &DietRow, now: DateTime<Utc>) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.diets (tenant_id, id, code, name, kind, energy_kcal_min, \
         energy_kcal_max, protein_g_min, fat_g_max, carbohydrate_g_max, sodium_mg_max, \
         created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(diet.id)
    .bind(&diet.code)
    .bind(&diet.name)
    .bind(diet.kind)
    .bind(diet.energy_kcal_min)
    .bind(diet.energy_kcal_max)
    .bind(diet.protein_g_min)
    .bind(diet.fat_g_max)
    .bind(diet.carbohydrate_g_max)
    .bind(diet.sodium_mg_max)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_diets(tx: &mut TenantTx) -> Result<Vec<DietRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DIET_COLUMNS} FROM nutrition.diets ORDER BY code"
    )))
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn get_diet(tx: &mut TenantTx, id: Uuid) -> Result<DietRow> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {DIET_COLUMNS} FROM nutrition.diets WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound("diet"))
}

/// The tenant's nil-by-mouth diet (the first by code), which an operation puts patients on.
pub async fn nil_by_mouth_diet(tx: &mut TenantTx) -> Result<Option<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT id FROM nutrition.diets WHERE kind = 'nil_by_mouth' ORDER BY code LIMIT 1",
    )
    .fetch_optional(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct KitchenRow {
    pub facility_id: Uuid,
    pub time_zone: String,
    pub warehouse_id: Uuid,
    pub department_id: Uuid,
    pub cycle_start: chrono::NaiveDate,
    pub cycle_days: i32,
    pub default_diet_id: Uuid,
}

impl KitchenRow {
    pub fn zone(&self) -> Result<chrono_tz::Tz> {
        self.time_zone
            .parse()
            .map_err(|_| Error::corrupt("kitchen time zone"))
    }
}

/// Takes the facility's kitchen for sending a meal: a change of a patient (who takes the
/// kitchens to share, [`share_kitchens`]) either commits before the meal's lines are read from
/// who is in the wards, or amends the orders after they are sent; never neither.
pub async fn take_kitchen(tx: &mut TenantTx, facility_id: Uuid) -> Result<()> {
    sqlx::query("SELECT facility_id FROM nutrition.kitchens WHERE facility_id = $1 FOR UPDATE")
        .bind(facility_id)
        .fetch_optional(&mut **tx)
        .await?;
    Ok(())
}

/// Takes the tenant's kitchens to share while a patient's change amends meal orders (changes
/// of patients do not wait for one another, only for a meal being sent).
pub async fn share_kitchens(tx: &mut TenantTx) -> Result<()> {
    sqlx::query("SELECT facility_id FROM nutrition.kitchens ORDER BY facility_id FOR SHARE")
        .fetch_all(&mut **tx)
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, FromRow)]
pub struct MealTimeRow {
    pub meal: Meal,
    pub cutoff: NaiveTime,
    pub serve: NaiveTime,
}

/// Sets a facility's kitchen and its meal times (replacing what was set).
pub async fn put_kitchen(
    tx: &mut TenantTx,
    kitchen: &KitchenRow,
    meal_times: &[MealTimeRow],
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.kitchens (tenant_id, facility_id, time_zone, warehouse_id, \
         department_id, cycle_start, cycle_days, default_diet_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
         ON CONFLICT (tenant_id, facility_id) DO UPDATE SET time_zone = EXCLUDED.time_zone, \
         warehouse_id = EXCLUDED.warehouse_id, department_id = EXCLUDED.department_id, \
         cycle_start = EXCLUDED.cycle_start, cycle_days = EXCLUDED.cycle_days, \
         default_diet_id = EXCLUDED.default_diet_id, updated_at = EXCLUDED.updated_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(kitchen.facility_id)
    .bind(&kitchen.time_zone)
    .bind(kitchen.warehouse_id)
    .bind(kitchen.department_id)
    .bind(kitchen.cycle_start)
    .bind(kitchen.cycle_days)
    .bind(kitchen.default_diet_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    sqlx::query("DELETE FROM nutrition.meal_times WHERE facility_id = $1")
        .bind(kitchen.facility_id)
        .execute(&mut **tx)
        .await?;
    let meals: Vec<&str> = meal_times.iter().map(|time| time.meal.as_db()).collect();
    let cutoffs: Vec<NaiveTime> = meal_times.iter().map(|time| time.cutoff).collect();
    let serves: Vec<NaiveTime> = meal_times.iter().map(|time| time.serve).collect();
    sqlx::query(
        "INSERT INTO nutrition.meal_times (tenant_id, facility_id, meal, cutoff, serve) \
         SELECT $1, $2, m, c, s FROM unnest($3::text[], $4::time[], $5::time[]) AS t (m, c, s)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(kitchen.facility_id)
    .bind(meals)
    .bind(cutoffs)
    .bind(serves)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn get_kitchen(tx: &mut TenantTx, facility_id: Uuid) -> Result<Option<KitchenRow>> {
    Ok(sqlx::query_as(
        "SELECT facility_id, time_zone, warehouse_id, department_id, cycle_start, cycle_days, \
         default_diet_id FROM nutrition.kitchens WHERE facility_id = $1",
    )
    .bind(facility_id)
    .fetch_optional(&mut **tx)
    .await?)
}

/// A facility's meal times, in the order meals are served.
pub async fn meal_times(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<MealTimeRow>> {
    Ok(sqlx::query_as(
        "SELECT meal, cutoff, serve FROM nutrition.meal_times WHERE facility_id = $1 \
         ORDER BY serve",
    )
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn set_ward_diet(
    tx: &mut TenantTx,
    (department_id, facility_id): (Uuid, Uuid),
    diet_id: Uuid,
    set_by: Uuid,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.ward_diets (tenant_id, department_id, facility_id, diet_id, \
         set_by, set_at) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, department_id) DO UPDATE SET diet_id = EXCLUDED.diet_id, \
         set_by = EXCLUDED.set_by, set_at = EXCLUDED.set_at",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(department_id)
    .bind(facility_id)
    .bind(diet_id)
    .bind(set_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The default diet of each ward of a facility that sets one.
pub async fn ward_diets(
    tx: &mut TenantTx,
    facility_id: Uuid,
) -> Result<std::collections::HashMap<Uuid, Uuid>> {
    let rows: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "SELECT department_id, diet_id FROM nutrition.ward_diets WHERE facility_id = $1",
    )
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows.into_iter().collect())
}

/// Every diet's code, by id (lines and totals name them).
pub async fn diet_codes(tx: &mut TenantTx) -> Result<std::collections::HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> = sqlx::query_as("SELECT id, code FROM nutrition.diets")
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows.into_iter().collect())
}
