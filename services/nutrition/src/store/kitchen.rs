//! The kitchen's tables: ingredients, recipes (whose allergens are read from their
//! ingredients, so an ingredient corrected later corrects every recipe using it) and cycle
//! menus.

use super::*;
use crate::domain::{Course, Nutrients};

#[derive(Debug, Clone, FromRow)]
pub struct IngredientRow {
    pub item_id: Uuid,
    pub code: String,
    pub name: String,
    pub base_unit: String,
    /// As a decimal.
    pub issue_step: String,
    pub allergens: Vec<String>,
}

const INGREDIENT_COLUMNS: &str =
    "item_id, code, name, base_unit, issue_step::text AS issue_step, allergens";

/// Registers an ingredient, or corrects its issue step and allergens.
pub async fn put_ingredient(
    tx: &mut TenantTx,
    ingredient: &IngredientRow,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.ingredients (tenant_id, item_id, code, name, base_unit, \
         issue_step, allergens, created_at) VALUES ($1, $2, $3, $4, $5, $6::numeric, $7, $8) \
         ON CONFLICT (tenant_id, item_id) DO UPDATE SET code = EXCLUDED.code, \
         name = EXCLUDED.name, base_unit = EXCLUDED.base_unit, \
         issue_step = EXCLUDED.issue_step, allergens = EXCLUDED.allergens",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(ingredient.item_id)
    .bind(&ingredient.code)
    .bind(&ingredient.name)
    .bind(&ingredient.base_unit)
    .bind(&ingredient.issue_step)
    .bind(&ingredient.allergens)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_ingredients(tx: &mut TenantTx) -> Result<Vec<IngredientRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INGREDIENT_COLUMNS} FROM nutrition.ingredients ORDER BY code"
    )))
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn ingredients_by_ids(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<IngredientRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {INGREDIENT_COLUMNS} FROM nutrition.ingredients WHERE item_id = ANY($1)"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct RecipeRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub course: Course,
    pub energy_kcal: i32,
    pub protein_g: i32,
    pub fat_g: i32,
    pub carbohydrate_g: i32,
    pub sodium_mg: i32,
    /// Every allergen of its ingredients, sorted.
    pub allergens: Vec<String>,
}

impl RecipeRow {
    pub fn nutrients(&self) -> Nutrients {
        Nutrients {
            energy_kcal: self.energy_kcal,
            protein_g: self.protein_g,
            fat_g: self.fat_g,
            carbohydrate_g: self.carbohydrate_g,
            sodium_mg: self.sodium_mg,
        }
    }
}

const RECIPE_SELECT: &str = "SELECT r.id, r.code, r.name, r.course, r.energy_kcal, \
     r.protein_g, r.fat_g, r.carbohydrate_g, r.sodium_mg, \
     coalesce((SELECT array_agg(DISTINCT a ORDER BY a) \
               FROM nutrition.recipe_ingredients ri \
               JOIN nutrition.ingredients i \
                 ON i.tenant_id = ri.tenant_id AND i.item_id = ri.item_id \
               CROSS JOIN LATERAL unnest(i.allergens) AS a \
               WHERE ri.tenant_id = r.tenant_id AND ri.recipe_id = r.id), '{}') AS allergens \
     FROM nutrition.recipes r";

pub async fn insert_recipe(
    tx: &mut TenantTx,
    recipe: &RecipeRow,
    ingredients: &[(Uuid, String)],
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO nutrition.recipes (tenant_id, id, code, name, course, energy_kcal, \
         protein_g, fat_g, carbohydrate_g, sodium_mg, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(recipe.id)
    .bind(&recipe.code)
    .bind(&recipe.name)
    .bind(recipe.course)
    .bind(recipe.energy_kcal)
    .bind(recipe.protein_g)
    .bind(recipe.fat_g)
    .bind(recipe.carbohydrate_g)
    .bind(recipe.sodium_mg)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let items: Vec<Uuid> = ingredients.iter().map(|(item, _)| *item).collect();
    let quantities: Vec<&str> = ingredients.iter().map(|(_, q)| q.as_str()).collect();
    sqlx::query(
        "INSERT INTO nutrition.recipe_ingredients (tenant_id, recipe_id, item_id, quantity) \
         SELECT $1, $2, i, q::numeric FROM unnest($3::uuid[], $4::text[]) AS t (i, q)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(recipe.id)
    .bind(items)
    .bind(quantities)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn list_recipes(tx: &mut TenantTx) -> Result<Vec<RecipeRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RECIPE_SELECT} ORDER BY r.code"
    )))
    .fetch_all(&mut **tx)
    .await?)
}

pub async fn recipes_by_ids(tx: &mut TenantTx, ids: &[Uuid]) -> Result<Vec<RecipeRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "{RECIPE_SELECT} WHERE r.id = ANY($1) ORDER BY r.code"
    )))
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?)
}

/// The ingredients of `recipes`: (recipe, item, quantity per portion as a decimal).
pub async fn recipe_ingredients(
    tx: &mut TenantTx,
    recipes: &[Uuid],
) -> Result<Vec<(Uuid, Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT recipe_id, item_id, quantity::text FROM nutrition.recipe_ingredients \
         WHERE recipe_id = ANY($1) ORDER BY recipe_id, item_id",
    )
    .bind(recipes)
    .fetch_all(&mut **tx)
    .await?)
}

#[derive(Debug, Clone, FromRow)]
pub struct MenuCourseRow {
    pub cycle_day: i32,
    pub meal: Meal,
    pub diet_id: Uuid,
    pub course: Course,
    pub recipe_id: Uuid,
    pub substitute_recipe_id: Option<Uuid>,
}

/// Sets what a diet's patients are served at a meal on a day of the cycle.
pub async fn replace_menu_meal(
    tx: &mut TenantTx,
    facility_id: Uuid,
    (cycle_day, meal, diet_id): (i32, Meal, Uuid),
    courses: &[(Course, Uuid, Option<Uuid>)],
) -> Result<()> {
    sqlx::query(
        "DELETE FROM nutrition.menu_courses WHERE facility_id = $1 AND cycle_day = $2 \
         AND meal = $3 AND diet_id = $4",
    )
    .bind(facility_id)
    .bind(cycle_day)
    .bind(meal)
    .bind(diet_id)
    .execute(&mut **tx)
    .await?;
    let kinds: Vec<&str> = courses.iter().map(|(course, ..)| course.as_db()).collect();
    let recipes: Vec<Uuid> = courses.iter().map(|(_, recipe, _)| *recipe).collect();
    let substitutes: Vec<Option<Uuid>> = courses.iter().map(|(.., sub)| *sub).collect();
    sqlx::query(
        "INSERT INTO nutrition.menu_courses (tenant_id, facility_id, cycle_day, meal, diet_id, \
         course, recipe_id, substitute_recipe_id) \
         SELECT $1, $2, $3, $4, $5, c, r, s FROM unnest($6::text[], $7::uuid[], $8::uuid[]) \
         AS t (c, r, s)",
    )
    .bind(tx.tenant_id().as_uuid())
    .bind(facility_id)
    .bind(cycle_day)
    .bind(meal)
    .bind(diet_id)
    .bind(kinds)
    .bind(recipes)
    .bind(substitutes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Every course of the facility's menu on `cycle_day` (every meal, every diet).
pub async fn menu_of_day(
    tx: &mut TenantTx,
    facility_id: Uuid,
    cycle_day: i32,
) -> Result<Vec<MenuCourseRow>> {
    Ok(sqlx::query_as(
        "SELECT cycle_day, meal, diet_id, course, recipe_id, substitute_recipe_id \
         FROM nutrition.menu_courses WHERE facility_id = $1 AND cycle_day = $2 \
         ORDER BY diet_id, meal, course",
    )
    .bind(facility_id)
    .bind(cycle_day)
    .fetch_all(&mut **tx)
    .await?)
}

/// The recipes on each diet's menu, dishes and named substitutes of any day or meal, by
/// code: what may stand in for a dish a patient may not have.
pub async fn diet_recipes(tx: &mut TenantTx, facility_id: Uuid) -> Result<Vec<(Uuid, Uuid)>> {
    Ok(sqlx::query_as(
        "SELECT DISTINCT m.diet_id, r.id, r.code FROM nutrition.menu_courses m \
         JOIN nutrition.recipes r ON r.tenant_id = m.tenant_id \
          AND r.id IN (m.recipe_id, m.substitute_recipe_id) \
         WHERE m.facility_id = $1 ORDER BY m.diet_id, r.code",
    )
    .bind(facility_id)
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .map(|(diet, recipe, _code): (Uuid, Uuid, String)| (diet, recipe))
    .collect())
}
