//! The kitchen: ingredients, recipes, the cycle menu checked against the diets' targets, the
//! day's production sheet (portions of each recipe from the meal orders, each patient's
//! tray made safe for them; ingredients = portions x recipes, rounded up to their units of
//! issue), the ingredients issued through the stock ledger once a day, and the report.

use hmis_platform::amount::Amount;
use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::nutrition::v1 as pb;

use super::catalogue::diet_named;
use super::*;
use crate::convert::{ingredient_to_pb, meal_to_pb, menu_to_pb, recipe_to_pb, warning_to_pb};
use crate::domain::{Course, DietKind, Nutrients, cycle_day, decimal, missed_targets, round_up};
use crate::store::{DietRow, IngredientRow, MenuCourseRow};

#[derive(Debug)]
pub(crate) struct NewIngredient {
    pub(crate) key: RequestKey,
    pub(crate) code: String,
    pub(crate) issue_step: Amount,
    pub(crate) allergens: Vec<String>,
}

#[derive(Debug)]
pub(crate) struct NewRecipe {
    pub(crate) key: RequestKey,
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) course: Course,
    pub(crate) nutrients: Nutrients,
    pub(crate) ingredients: Vec<(Uuid, Amount)>,
}

#[derive(Debug)]
pub(crate) struct MenuSetting {
    pub(crate) key: RequestKey,
    pub(crate) facility_id: Uuid,
    pub(crate) cycle_day: i32,
    pub(crate) meal: Meal,
    pub(crate) diet_id: Uuid,
    pub(crate) courses: Vec<(Course, Uuid, Option<Uuid>)>,
}

/// An ingredient's quantities on a production sheet (ten-thousandths of its base unit).
struct IngredientNeed {
    ingredient: IngredientRow,
    required: i64,
    issued: i64,
}

/// A day's production: each recipe's portions per meal, and the ingredients.
struct Sheet {
    cycle_day: i32,
    recipes: Vec<(Meal, Uuid, i32)>,
    ingredients: Vec<IngredientNeed>,
    patients: Vec<Uuid>,
    menu: Menu,
}

impl IngredientNeed {
    fn to_pb(&self) -> pb::IngredientQuantity {
        pb::IngredientQuantity {
            item_id: self.ingredient.item_id.to_string(),
            code: self.ingredient.code.clone(),
            name: self.ingredient.name.clone(),
            base_unit: self.ingredient.base_unit.clone(),
            required: decimal(self.required),
            issued: decimal(self.issued),
        }
    }
}

/// The kitchen's target (its department) for `permission`.
fn kitchen_target(kitchen: &KitchenRow) -> Target {
    Target::department(kitchen.facility_id, kitchen.department_id)
}

/// The targets each diet's day on the menu misses (main dishes, every meal).
fn warnings(
    rows: &[MenuCourseRow],
    recipes: &HashMap<Uuid, crate::store::RecipeRow>,
    diets: &HashMap<Uuid, DietRow>,
) -> Vec<pb::TargetWarning> {
    let mut days: BTreeMap<(Uuid, i32), Nutrients> = BTreeMap::new();
    for row in rows {
        if let Some(recipe) = recipes.get(&row.recipe_id) {
            *days.entry((row.diet_id, row.cycle_day)).or_default() += recipe.nutrients();
        }
    }
    days.into_iter()
        .filter_map(|((diet_id, day), brought)| {
            let diet = diets.get(&diet_id)?;
            Some(
                missed_targets(&diet.targets(), &brought)
                    .into_iter()
                    .map(move |miss| warning_to_pb(diet_id, day, &miss)),
            )
        })
        .flatten()
        .collect()
}

async fn diets_by_id(tx: &mut TenantTx) -> Result<HashMap<Uuid, DietRow>> {
    Ok(store::list_diets(tx)
        .await?
        .into_iter()
        .map(|diet| (diet.id, diet))
        .collect())
}

/// The day's production at the kitchen, from the day's meals as they stand at `now`.
async fn production(
    tx: &mut TenantTx,
    kitchen: &KitchenRow,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Sheet> {
    let cycle_day = cycle_day(kitchen.cycle_start, kitchen.cycle_days, day);
    let menu = Menu::load(tx, kitchen.facility_id, cycle_day).await?;
    let diets = diets_by_id(tx).await?;
    let fasting = |diet: &Uuid| {
        diets
            .get(diet)
            .is_some_and(|d| d.kind == DietKind::NilByMouth)
    };
    let mut meals = Vec::new();
    for time in store::meal_times(tx, kitchen.facility_id).await? {
        let view = meal_view(tx, kitchen, (day, &time), None, now).await?;
        for ward in &view.wards {
            meals.push((time.meal, fed(&ward.lines)));
        }
    }
    let patients: BTreeSet<Uuid> = meals
        .iter()
        .flat_map(|(_, (fed, _))| fed.iter().map(|f| f.patient_id))
        .collect();
    let patients: Vec<Uuid> = patients.into_iter().collect();
    let restrictions = store::restrictions_of(tx, &patients).await?;
    let none = BTreeSet::new();
    let mut portions: BTreeMap<(Meal, Uuid), i32> = BTreeMap::new();
    for (meal, (fed, extras)) in &meals {
        for patient in fed.iter().filter(|f| !fasting(&f.diet_id)) {
            let restricted = restrictions.get(&patient.patient_id).unwrap_or(&none);
            for dish in menu.tray(*meal, patient.diet_id, restricted).served {
                *portions.entry((*meal, dish.recipe_id)).or_default() += patient.portions;
            }
        }
        for (diet, count) in extras.iter().filter(|(diet, _)| !fasting(diet)) {
            for dish in menu.tray(*meal, *diet, &none).served {
                *portions.entry((*meal, dish.recipe_id)).or_default() += count;
            }
        }
    }
    let mut per_recipe: BTreeMap<Uuid, i64> = BTreeMap::new();
    for ((_, recipe), count) in &portions {
        *per_recipe.entry(*recipe).or_default() += i64::from(*count);
    }
    let recipe_ids: Vec<Uuid> = per_recipe.keys().copied().collect();
    let mut required: BTreeMap<Uuid, i64> = BTreeMap::new();
    for (recipe, item, quantity) in store::recipe_ingredients(tx, &recipe_ids).await? {
        let per_portion = Amount::from_db(&quantity)
            .map_err(|_| Error::corrupt("recipe quantity"))?
            .scaled();
        let count = per_recipe.get(&recipe).copied().unwrap_or(0);
        *required.entry(item).or_default() += per_portion.saturating_mul(count);
    }
    let items: Vec<Uuid> = required.keys().copied().collect();
    let mut ingredients = Vec::with_capacity(items.len());
    for ingredient in store::ingredients_by_ids(tx, &items).await? {
        let step = Amount::from_db(&ingredient.issue_step)
            .map_err(|_| Error::corrupt("issue step"))?
            .scaled();
        let need = required.get(&ingredient.item_id).copied().unwrap_or(0);
        ingredients.push(IngredientNeed {
            ingredient,
            required: need,
            issued: round_up(need, step),
        });
    }
    ingredients.sort_by(|a, b| a.ingredient.code.cmp(&b.ingredient.code));
    Ok(Sheet {
        cycle_day,
        recipes: portions
            .into_iter()
            .map(|((meal, recipe), count)| (meal, recipe, count))
            .collect(),
        ingredients,
        patients,
        menu,
    })
}

impl Nutrition {
    pub(crate) async fn register_ingredient(
        &self,
        context: &RequestContext,
        message: &pb::RegisterIngredientRequest,
        new: NewIngredient,
    ) -> Result<pb::RegisterIngredientResponse> {
        let method = method("RegisterIngredient");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let item = (self.directory)
            .food_item(context, &new.code, "ingredient.code")
            .await?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let row = IngredientRow {
                    item_id: item.id,
                    code: item.code.clone(),
                    name: item.name.clone(),
                    base_unit: item.base_unit.clone(),
                    issue_step: new.issue_step.to_string(),
                    allergens: new.allergens.clone(),
                };
                store::put_ingredient(tx, &row, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::RegisterIngredientResponse {
                    ingredient: Some(ingredient_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_ingredients(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListIngredientsResponse> {
        self.calls
            .transaction(context, async |tx| {
                Ok(pb::ListIngredientsResponse {
                    ingredients: (store::list_ingredients(tx).await?.iter())
                        .map(ingredient_to_pb)
                        .collect(),
                })
            })
            .await
    }

    pub(crate) async fn create_recipe(
        &self,
        context: &RequestContext,
        message: &pb::CreateRecipeRequest,
        new: NewRecipe,
    ) -> Result<pb::CreateRecipeResponse> {
        let method = method("CreateRecipe");
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let items: Vec<Uuid> = new.ingredients.iter().map(|(item, _)| *item).collect();
                let known: BTreeSet<Uuid> = store::ingredients_by_ids(tx, &items)
                    .await?
                    .into_iter()
                    .map(|ingredient| ingredient.item_id)
                    .collect();
                if let Some(index) = items.iter().position(|item| !known.contains(item)) {
                    return Err(Error::invalid(
                        &format!("recipe.ingredients[{index}].item_id"),
                        "is not a registered ingredient",
                    ));
                }
                let nutrients = new.nutrients;
                let row = crate::store::RecipeRow {
                    id: Uuid::now_v7(),
                    code: new.code.clone(),
                    name: new.name.clone(),
                    course: new.course,
                    energy_kcal: nutrients.energy_kcal,
                    protein_g: nutrients.protein_g,
                    fat_g: nutrients.fat_g,
                    carbohydrate_g: nutrients.carbohydrate_g,
                    sodium_mg: nutrients.sodium_mg,
                    allergens: Vec::new(),
                };
                let quantities: Vec<(Uuid, String)> = (new.ingredients.iter())
                    .map(|(item, quantity)| (*item, quantity.to_string()))
                    .collect();
                store::insert_recipe(tx, &row, &quantities, now).await?;
                record(tx, context, &[], now).await?;
                let stored = store::recipes_by_ids(tx, &[row.id]).await?;
                let ingredients = store::recipe_ingredients(tx, &[row.id]).await?;
                let recipe = stored.first().ok_or(Error::NotFound("recipe"))?;
                Ok(pb::CreateRecipeResponse {
                    recipe: Some(recipe_to_pb(recipe, &ingredients)),
                })
            })
            .await
    }

    pub(crate) async fn list_recipes(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListRecipesResponse> {
        self.calls
            .transaction(context, async |tx| {
                let recipes = store::list_recipes(tx).await?;
                let ids: Vec<Uuid> = recipes.iter().map(|recipe| recipe.id).collect();
                let ingredients = store::recipe_ingredients(tx, &ids).await?;
                Ok(pb::ListRecipesResponse {
                    recipes: (recipes.iter())
                        .map(|recipe| recipe_to_pb(recipe, &ingredients))
                        .collect(),
                })
            })
            .await
    }

    /// The facility's kitchen, read to authorize against its department.
    async fn kitchen(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
        permission: &str,
    ) -> Result<KitchenRow> {
        let kitchen = self
            .calls
            .transaction(context, async |tx| {
                kitchen_of(tx, facility_id, "facility_id").await
            })
            .await?;
        context.authorize(permission, &kitchen_target(&kitchen))?;
        Ok(kitchen)
    }

    pub(crate) async fn set_menu(
        &self,
        context: &RequestContext,
        message: &pb::SetMenuRequest,
        setting: MenuSetting,
    ) -> Result<pb::SetMenuResponse> {
        let method = method("SetMenu");
        if let Some(replayed) = (self.calls)
            .replay(context, &method, &setting.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let kitchen = self.kitchen(context, setting.facility_id, KITCHEN).await?;
        if setting.cycle_day > kitchen.cycle_days {
            return Err(Error::invalid(
                "menu.cycle_day",
                format!("the kitchen's cycle has {} days", kitchen.cycle_days),
            ));
        }
        let now = self.calls.now();
        self.calls
            .write(context, &method, &setting.key, message, async |tx| {
                diet_named(tx, setting.diet_id, "menu.diet_id").await?;
                let mut ids: Vec<Uuid> = Vec::new();
                for (_, recipe, substitute) in &setting.courses {
                    ids.push(*recipe);
                    ids.extend(*substitute);
                }
                let recipes: HashMap<Uuid, crate::store::RecipeRow> =
                    store::recipes_by_ids(tx, &ids)
                        .await?
                        .into_iter()
                        .map(|recipe| (recipe.id, recipe))
                        .collect();
                for (index, (course, recipe, substitute)) in setting.courses.iter().enumerate() {
                    let check = |id: &Uuid, field: &str| -> Result<()> {
                        match recipes.get(id) {
                            None => Err(Error::invalid(field, "was not found")),
                            Some(found) if found.course != *course => Err(Error::invalid(
                                field,
                                format!("is a {} recipe, not a {course}", found.course),
                            )),
                            Some(_) => Ok(()),
                        }
                    };
                    check(recipe, &format!("menu.courses[{index}].recipe_id"))?;
                    if let Some(substitute) = substitute {
                        check(
                            substitute,
                            &format!("menu.courses[{index}].substitute_recipe_id"),
                        )?;
                    }
                }
                store::replace_menu_meal(
                    tx,
                    setting.facility_id,
                    (setting.cycle_day, setting.meal, setting.diet_id),
                    &setting.courses,
                )
                .await?;
                record(tx, context, &[], now).await?;
                let rows: Vec<MenuCourseRow> =
                    store::menu_of_day(tx, setting.facility_id, setting.cycle_day)
                        .await?
                        .into_iter()
                        .filter(|row| row.diet_id == setting.diet_id)
                        .collect();
                let day_ids: Vec<Uuid> = rows.iter().map(|row| row.recipe_id).collect();
                let day_recipes = store::recipes_by_ids(tx, &day_ids)
                    .await?
                    .into_iter()
                    .map(|recipe| (recipe.id, recipe))
                    .collect();
                let diets = diets_by_id(tx).await?;
                Ok(pb::SetMenuResponse {
                    warnings: warnings(&rows, &day_recipes, &diets),
                })
            })
            .await
    }

    pub(crate) async fn get_menu(
        &self,
        context: &RequestContext,
        (facility_id, day): (Uuid, i32),
    ) -> Result<pb::GetMenuResponse> {
        self.calls
            .transaction(context, async |tx| {
                let rows = store::menu_of_day(tx, facility_id, day).await?;
                let ids: Vec<Uuid> = rows.iter().map(|row| row.recipe_id).collect();
                let recipes = store::recipes_by_ids(tx, &ids)
                    .await?
                    .into_iter()
                    .map(|recipe| (recipe.id, recipe))
                    .collect();
                let diets = diets_by_id(tx).await?;
                Ok(pb::GetMenuResponse {
                    meals: menu_to_pb(&rows),
                    warnings: warnings(&rows, &recipes, &diets),
                })
            })
            .await
    }

    pub(crate) async fn get_production_sheet(
        &self,
        context: &RequestContext,
        (facility_id, day): (Uuid, NaiveDate),
    ) -> Result<pb::GetProductionSheetResponse> {
        let kitchen = self.kitchen(context, facility_id, KITCHEN).await?;
        let now = self.calls.now();
        self.calls
            .transaction(context, async |tx| {
                let sheet = production(tx, &kitchen, day, now).await?;
                let issued = store::issued_at(tx, (facility_id, day)).await?;
                record(tx, context, &sheet.patients, now).await?;
                Ok(pb::GetProductionSheetResponse {
                    day: day.to_string(),
                    cycle_day: sheet.cycle_day,
                    recipes: (sheet.recipes.iter())
                        .map(|(meal, recipe, portions)| {
                            let row = sheet.menu.recipes.get(recipe);
                            pb::RecipePortions {
                                recipe_id: recipe.to_string(),
                                recipe_code: row.map(|r| r.code.clone()).unwrap_or_default(),
                                recipe_name: row.map(|r| r.name.clone()).unwrap_or_default(),
                                meal: meal_to_pb(*meal).into(),
                                portions: *portions,
                            }
                        })
                        .collect(),
                    ingredients: sheet
                        .ingredients
                        .iter()
                        .map(IngredientNeed::to_pb)
                        .collect(),
                    issue_time: issued.and_then(timestamp),
                })
            })
            .await
    }

    pub(crate) async fn issue_ingredients(
        &self,
        context: &RequestContext,
        message: &pb::IssueIngredientsRequest,
        (key, facility_id, day): (RequestKey, Uuid, NaiveDate),
    ) -> Result<pb::IssueIngredientsResponse> {
        let method = method("IssueIngredients");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        let kitchen = self.kitchen(context, facility_id, KITCHEN).await?;
        let now = self.calls.now();
        // What is to be issued is kept first: after a stop midway, the retry asks the ledger
        // the very same thing (its request id is the facility's and day's) and finds the
        // movements made, whatever the meal orders became since.
        let (lines, needs) = self
            .calls
            .transaction(context, async |tx| {
                let found = store::get_issue(tx, (facility_id, day), true).await?;
                if found
                    .as_ref()
                    .is_some_and(|issue| issue.issued_at.is_some())
                {
                    return Err(Error::AlreadyIssued);
                }
                let sheet = production(tx, &kitchen, day, now).await?;
                record(tx, context, &sheet.patients, now).await?;
                let needs: Vec<pb::IngredientQuantity> = sheet
                    .ingredients
                    .iter()
                    .map(IngredientNeed::to_pb)
                    .collect();
                if let Some(asked) = found {
                    return Ok((asked.lines, needs));
                }
                let lines: Vec<(Uuid, String)> = (sheet.ingredients.iter())
                    .filter(|need| need.issued > 0)
                    .map(|need| (need.ingredient.item_id, decimal(need.issued)))
                    .collect();
                if lines.is_empty() {
                    return Err(Error::precondition(
                        "nothing to issue: the day's meals need no ingredients",
                    ));
                }
                store::request_issue(tx, (facility_id, day), &lines, context.user_id(), now)
                    .await?;
                Ok((lines, needs))
            })
            .await?;
        let moved = (self.directory)
            .issue(
                context,
                format!("nutrition-issue-{facility_id}-{day}"),
                (kitchen.warehouse_id, kitchen.department_id),
                format!("{day}"),
                lines,
            )
            .await?;
        self.calls
            .write(context, &method, &key, message, async |tx| {
                if !store::record_issue(tx, (facility_id, day), &moved, now).await? {
                    return Err(Error::AlreadyIssued);
                }
                record(tx, context, &[], now).await?;
                Ok(pb::IssueIngredientsResponse {
                    ingredients: needs.clone(),
                    movement_ids: moved.iter().map(|m| m.movement_id.to_string()).collect(),
                })
            })
            .await
    }

    pub(crate) async fn get_report(
        &self,
        context: &RequestContext,
        (facility_id, first, last): (Uuid, NaiveDate, NaiveDate),
    ) -> Result<pb::GetNutritionReportResponse> {
        self.kitchen(context, facility_id, KITCHEN).await?;
        let days = (first, last);
        self.calls
            .transaction(context, async |tx| {
                let portions = store::portions_by_ward(tx, facility_id, days).await?;
                let patient_days = store::patient_days(tx, facility_id, days).await?;
                let consumption = store::consumption(tx, facility_id, days).await?;
                let mut total: i64 = 0;
                for (.., value) in &consumption {
                    total += Amount::from_db(value).map_or(0, Amount::scaled);
                }
                let per_day = if patient_days > 0 {
                    decimal(total / patient_days)
                } else {
                    "0".to_owned()
                };
                Ok(pb::GetNutritionReportResponse {
                    portions: portions
                        .into_iter()
                        .map(|(department, diet, code, count)| pb::WardDietPortions {
                            department_id: department.to_string(),
                            diet_id: diet.to_string(),
                            diet_code: code,
                            portions: i32::try_from(count).unwrap_or(i32::MAX),
                        })
                        .collect(),
                    patient_days: i32::try_from(patient_days).unwrap_or(i32::MAX),
                    ingredients: consumption
                        .into_iter()
                        .map(|(item, code, name, unit, quantity, value)| {
                            pb::IngredientConsumption {
                                item_id: item.to_string(),
                                code,
                                name,
                                base_unit: unit,
                                quantity: hmis_platform::amount::trim_scale(&quantity),
                                value: hmis_platform::amount::trim_scale(&value),
                            }
                        })
                        .collect(),
                    total_cost: decimal(total),
                    cost_per_patient_day: per_day,
                })
            })
            .await
    }
}
