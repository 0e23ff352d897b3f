//! Requests of the nutrition service, parsed into what the use cases are asked: every wrong
//! field is named at once (`INVALID_ARGUMENT` with field violations), nothing is echoed back.

use std::collections::HashSet;

use chrono::NaiveTime;
use hmis_platform::Violations;
use hmis_platform::amount::Amount;
use hmis_platform::types::{Code, Line, parse_date};
use hmis_platform::wire::parse_timestamp;
use hmis_proto::openhmis::nutrition::v1 as pb;
use uuid::Uuid;

use crate::app::{
    Adjustment, MealQuery, MenuSetting, NewDiet, NewDietOrder, NewIngredient, NewKitchen,
    NewRecipe, NewRestriction,
};
use crate::convert::{parse_course, parse_diet_kind, parse_meal, parse_restriction_kind};
use crate::domain::{MAX_CYCLE_DAYS, Nutrients, Targets, is_allergen};
use crate::error::Result;
use crate::store::MealTimeRow;

/// The largest daily target or nutrient value (kcal, g, mg).
const MAX_NUTRIENT: i32 = 100_000;
/// Ingredients one recipe holds.
const MAX_INGREDIENTS: usize = 40;
/// Courses one meal of a diet holds.
const MAX_COURSES: usize = 6;
/// Portions one adjustment adds or takes away.
const MAX_PORTIONS: i32 = 20;
/// The longest period the report covers, in days.
const MAX_REPORT_DAYS: i64 = 366;

/// One id, the whole request of a read by id.
pub(crate) fn id(field: &str, value: &str) -> Result<Uuid> {
    let mut violations = Violations::default();
    let id = violations.id(field, value);
    Ok(violations.finish(|| id)?)
}

fn required_line(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let line = violations.check(field, Line::parse(value))?;
    if line.is_empty() {
        violations.add(field, "must not be empty");
        return None;
    }
    Some(line.as_str().to_owned())
}

fn optional_line(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    violations
        .check(field, Line::parse(value))
        .map(|line| line.as_str().to_owned())
}

fn nutrient(field: &str, value: i32, violations: &mut Violations) -> Option<i32> {
    if !(0..=MAX_NUTRIENT).contains(&value) {
        violations.add(field, format!("must be from 0 to {MAX_NUTRIENT}"));
        return None;
    }
    Some(value)
}

fn hh_mm(field: &str, value: &str, violations: &mut Violations) -> Option<NaiveTime> {
    let parsed = NaiveTime::parse_from_str(value.trim(), "%H:%M").ok();
    if parsed.is_none() {
        violations.add(field, "must be a time HH:MM");
    }
    parsed
}

fn amount(field: &str, value: &str, violations: &mut Violations) -> Option<Amount> {
    violations.check(field, Amount::parse(value))
}

fn allergen(field: &str, value: &str, violations: &mut Violations) -> Option<String> {
    let code = value.trim().to_lowercase();
    if !is_allergen(&code) {
        violations.add(field, "must be a code of the allergen list");
        return None;
    }
    Some(code)
}

pub(crate) fn create_diet(message: &pb::CreateDietRequest) -> Result<NewDiet> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let diet = message.diet.clone().unwrap_or_default();
    let code = violations.check("diet.code", Code::parse(&diet.code));
    let name = required_line("diet.name", &diet.name, &mut violations);
    let kind = violations.check("diet.kind", parse_diet_kind(diet.kind));
    let t = diet.targets.unwrap_or_default();
    let mut target =
        |field: &str, value| nutrient(&format!("diet.targets.{field}"), value, &mut violations);
    let targets = (|| {
        Some(Targets {
            energy_kcal_min: target("energy_kcal_min", t.energy_kcal_min)?,
            energy_kcal_max: target("energy_kcal_max", t.energy_kcal_max)?,
            protein_g_min: target("protein_g_min", t.protein_g_min)?,
            fat_g_max: target("fat_g_max", t.fat_g_max)?,
            carbohydrate_g_max: target("carbohydrate_g_max", t.carbohydrate_g_max)?,
            sodium_mg_max: target("sodium_mg_max", t.sodium_mg_max)?,
        })
    })();
    if targets.is_some_and(|t| t.energy_kcal_max > 0 && t.energy_kcal_max < t.energy_kcal_min) {
        violations.add(
            "diet.targets.energy_kcal_max",
            "must not be below energy_kcal_min",
        );
    }
    Ok(violations.finish(|| {
        Some(NewDiet {
            key: key?,
            code: code?.as_str().to_owned(),
            name: name?,
            kind: kind?,
            targets: targets?,
        })
    })?)
}

pub(crate) fn set_ward_diet(
    message: &pb::SetWardDietRequest,
) -> Result<(hmis_platform::idempotency::RequestKey, Uuid, Uuid)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let department_id = violations.id("department_id", &message.department_id);
    let diet_id = violations.id("diet_id", &message.diet_id);
    Ok(violations.finish(|| Some((key?, department_id?, diet_id?)))?)
}

pub(crate) fn set_kitchen(message: &pb::SetKitchenRequest) -> Result<NewKitchen> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let kitchen = message.kitchen.clone().unwrap_or_default();
    let facility_id = violations.id("kitchen.facility_id", &kitchen.facility_id);
    let warehouse_id = violations.id("kitchen.warehouse_id", &kitchen.warehouse_id);
    let department_id = violations.id("kitchen.department_id", &kitchen.department_id);
    let default_diet_id = violations.id("kitchen.default_diet_id", &kitchen.default_diet_id);
    let cycle_start = violations.check("kitchen.cycle_start", parse_date(&kitchen.cycle_start));
    let cycle_days = if (1..=MAX_CYCLE_DAYS).contains(&kitchen.cycle_days) {
        Some(kitchen.cycle_days)
    } else {
        violations.add(
            "kitchen.cycle_days",
            format!("must be from 1 to {MAX_CYCLE_DAYS}"),
        );
        None
    };
    let mut meal_times = Vec::new();
    let mut seen = HashSet::new();
    if kitchen.meal_times.is_empty() || kitchen.meal_times.len() > 3 {
        violations.add("kitchen.meal_times", "must list from 1 to 3 meals");
    }
    for (index, time) in kitchen.meal_times.iter().take(3).enumerate() {
        let field = |name: &str| format!("kitchen.meal_times[{index}].{name}");
        let meal = violations.check(&field("meal"), parse_meal(time.meal));
        if meal.is_some_and(|meal| !seen.insert(meal)) {
            violations.add(field("meal"), "is listed twice");
        }
        let cutoff = hh_mm(&field("cutoff"), &time.cutoff, &mut violations);
        let serve = hh_mm(&field("serve"), &time.serve, &mut violations);
        if let (Some(meal), Some(cutoff), Some(serve)) = (meal, cutoff, serve) {
            if cutoff >= serve {
                violations.add(field("serve"), "must be after the cut-off");
            }
            meal_times.push(MealTimeRow {
                meal,
                cutoff,
                serve,
            });
        }
    }
    Ok(violations.finish(|| {
        Some(NewKitchen {
            key: key?,
            facility_id: facility_id?,
            warehouse_id: warehouse_id?,
            department_id: department_id?,
            cycle_start: cycle_start?,
            cycle_days: cycle_days?,
            default_diet_id: default_diet_id?,
            meal_times,
        })
    })?)
}

pub(crate) fn record_restriction(message: &pb::RecordRestrictionRequest) -> Result<NewRestriction> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let restriction = message.restriction.clone().unwrap_or_default();
    let patient_id = violations.id("restriction.patient_id", &restriction.patient_id);
    let kind = violations.check("restriction.kind", parse_restriction_kind(restriction.kind));
    let allergen = allergen(
        "restriction.allergen",
        &restriction.allergen,
        &mut violations,
    );
    let note = optional_line("restriction.note", &restriction.note, &mut violations);
    Ok(violations.finish(|| {
        Some(NewRestriction {
            key: key?,
            patient_id: patient_id?,
            kind: kind?,
            allergen: allergen?,
            note: note?,
        })
    })?)
}

pub(crate) fn end_restriction(
    message: &pb::EndRestrictionRequest,
) -> Result<(hmis_platform::idempotency::RequestKey, Uuid, String)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let id = violations.id("id", &message.id);
    let reason = required_line("reason", &message.reason, &mut violations);
    Ok(violations.finish(|| Some((key?, id?, reason?)))?)
}

pub(crate) fn order_diet(message: &pb::OrderDietRequest) -> Result<NewDietOrder> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let order = message.order.clone().unwrap_or_default();
    let patient_id = violations.id("order.patient_id", &order.patient_id);
    let diet_id = violations.id("order.diet_id", &order.diet_id);
    let start_at = violations.check(
        "order.start_time",
        parse_timestamp(order.start_time.as_ref()),
    );
    let end_at = violations.check("order.end_time", parse_timestamp(order.end_time.as_ref()));
    let note = optional_line("order.note", &order.note, &mut violations);
    Ok(violations.finish(|| {
        Some(NewDietOrder {
            key: key?,
            patient_id: patient_id?,
            diet_id: diet_id?,
            start_at: start_at?,
            end_at: end_at?,
            note: note?,
        })
    })?)
}

fn meal_query(
    (department_id, day, meal): (&str, &str, i32),
    violations: &mut Violations,
) -> Option<MealQuery> {
    let department_id = violations.id("department_id", department_id);
    let day = violations.check("day", parse_date(day));
    let meal = violations.check("meal", parse_meal(meal));
    Some(MealQuery {
        department_id: department_id?,
        day: day?,
        meal: meal?,
    })
}

pub(crate) fn get_meal_order(message: &pb::GetMealOrderRequest) -> Result<MealQuery> {
    let mut violations = Violations::default();
    let query = meal_query(
        (&message.department_id, &message.day, message.meal),
        &mut violations,
    );
    Ok(violations.finish(|| query)?)
}

pub(crate) fn get_distribution_list(message: &pb::GetDistributionListRequest) -> Result<MealQuery> {
    let mut violations = Violations::default();
    let query = meal_query(
        (&message.department_id, &message.day, message.meal),
        &mut violations,
    );
    Ok(violations.finish(|| query)?)
}

pub(crate) fn adjust_meal_order(message: &pb::AdjustMealOrderRequest) -> Result<Adjustment> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let ward = meal_query(
        (&message.department_id, &message.day, message.meal),
        &mut violations,
    );
    let patient_id = violations.optional_id("patient_id", &message.patient_id);
    let diet_id = violations.optional_id("diet_id", &message.diet_id);
    let portions = if message.portions == 0 || message.portions.abs() > MAX_PORTIONS {
        violations.add(
            "portions",
            format!("must be from -{MAX_PORTIONS} to {MAX_PORTIONS}, not 0"),
        );
        None
    } else {
        Some(message.portions)
    };
    let reason = required_line("reason", &message.reason, &mut violations);
    Ok(violations.finish(|| {
        Some(Adjustment {
            key: key?,
            ward: ward?,
            patient_id: patient_id?,
            diet_id: diet_id?,
            portions: portions?,
            reason: reason?,
        })
    })?)
}

pub(crate) fn register_ingredient(
    message: &pb::RegisterIngredientRequest,
) -> Result<NewIngredient> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let ingredient = message.ingredient.clone().unwrap_or_default();
    let code = violations.check("ingredient.code", Code::parse(&ingredient.code));
    let issue_step = amount(
        "ingredient.issue_step",
        &ingredient.issue_step,
        &mut violations,
    );
    let mut allergens = Vec::new();
    for (index, value) in ingredient.allergens.iter().take(32).enumerate() {
        let field = format!("ingredient.allergens[{index}]");
        if let Some(code) = allergen(&field, value, &mut violations) {
            if allergens.contains(&code) {
                violations.add(field, "is listed twice");
            } else {
                allergens.push(code);
            }
        }
    }
    allergens.sort();
    Ok(violations.finish(|| {
        Some(NewIngredient {
            key: key?,
            code: code?.as_str().to_owned(),
            issue_step: issue_step?,
            allergens,
        })
    })?)
}

pub(crate) fn create_recipe(message: &pb::CreateRecipeRequest) -> Result<NewRecipe> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let recipe = message.recipe.clone().unwrap_or_default();
    let code = violations.check("recipe.code", Code::parse(&recipe.code));
    let name = required_line("recipe.name", &recipe.name, &mut violations);
    let course = violations.check("recipe.course", parse_course(recipe.course));
    let n = recipe.per_portion.unwrap_or_default();
    let mut value =
        |field: &str, v| nutrient(&format!("recipe.per_portion.{field}"), v, &mut violations);
    let nutrients = (|| {
        Some(Nutrients {
            energy_kcal: value("energy_kcal", n.energy_kcal)?,
            protein_g: value("protein_g", n.protein_g)?,
            fat_g: value("fat_g", n.fat_g)?,
            carbohydrate_g: value("carbohydrate_g", n.carbohydrate_g)?,
            sodium_mg: value("sodium_mg", n.sodium_mg)?,
        })
    })();
    if recipe.ingredients.is_empty() || recipe.ingredients.len() > MAX_INGREDIENTS {
        violations.add(
            "recipe.ingredients",
            format!("must list from 1 to {MAX_INGREDIENTS} ingredients"),
        );
    }
    let mut ingredients = Vec::new();
    for (index, line) in recipe.ingredients.iter().take(MAX_INGREDIENTS).enumerate() {
        let field = |name: &str| format!("recipe.ingredients[{index}].{name}");
        let item = violations.id(&field("item_id"), &line.item_id);
        let quantity = amount(&field("quantity"), &line.quantity, &mut violations);
        if let (Some(item), Some(quantity)) = (item, quantity) {
            if ingredients.iter().any(|(other, _)| *other == item) {
                violations.add(field("item_id"), "is listed twice");
            }
            ingredients.push((item, quantity));
        }
    }
    Ok(violations.finish(|| {
        Some(NewRecipe {
            key: key?,
            code: code?.as_str().to_owned(),
            name: name?,
            course: course?,
            nutrients: nutrients?,
            ingredients,
        })
    })?)
}

pub(crate) fn set_menu(message: &pb::SetMenuRequest) -> Result<MenuSetting> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let facility_id = violations.id("facility_id", &message.facility_id);
    let menu = message.menu.clone().unwrap_or_default();
    let cycle_day = if (1..=MAX_CYCLE_DAYS).contains(&menu.cycle_day) {
        Some(menu.cycle_day)
    } else {
        violations.add(
            "menu.cycle_day",
            format!("must be from 1 to {MAX_CYCLE_DAYS}"),
        );
        None
    };
    let meal = violations.check("menu.meal", parse_meal(menu.meal));
    let diet_id = violations.id("menu.diet_id", &menu.diet_id);
    if menu.courses.len() > MAX_COURSES {
        violations.add(
            "menu.courses",
            format!("must list at most {MAX_COURSES} courses"),
        );
    }
    let mut courses: Vec<(crate::domain::Course, Uuid, Option<Uuid>)> = Vec::new();
    for (index, line) in menu.courses.iter().take(MAX_COURSES).enumerate() {
        let field = |name: &str| format!("menu.courses[{index}].{name}");
        let course = violations.check(&field("course"), parse_course(line.course));
        let recipe = violations.id(&field("recipe_id"), &line.recipe_id);
        let substitute =
            violations.optional_id(&field("substitute_recipe_id"), &line.substitute_recipe_id);
        if let (Some(course), Some(recipe), Some(substitute)) = (course, recipe, substitute) {
            if courses.iter().any(|(other, ..)| *other == course) {
                violations.add(field("course"), "is listed twice");
            }
            if substitute == Some(recipe) {
                violations.add(field("substitute_recipe_id"), "must differ from the recipe");
            }
            courses.push((course, recipe, substitute));
        }
    }
    Ok(violations.finish(|| {
        Some(MenuSetting {
            key: key?,
            facility_id: facility_id?,
            cycle_day: cycle_day?,
            meal: meal?,
            diet_id: diet_id?,
            courses,
        })
    })?)
}

pub(crate) fn get_menu(message: &pb::GetMenuRequest) -> Result<(Uuid, i32)> {
    let mut violations = Violations::default();
    let facility_id = violations.id("facility_id", &message.facility_id);
    if !(1..=MAX_CYCLE_DAYS).contains(&message.cycle_day) {
        violations.add("cycle_day", format!("must be from 1 to {MAX_CYCLE_DAYS}"));
    }
    Ok(violations.finish(|| Some((facility_id?, message.cycle_day)))?)
}

pub(crate) fn facility_day(facility_id: &str, day: &str) -> Result<(Uuid, chrono::NaiveDate)> {
    let mut violations = Violations::default();
    let facility_id = violations.id("facility_id", facility_id);
    let day = violations.check("day", parse_date(day));
    Ok(violations.finish(|| Some((facility_id?, day?)))?)
}

pub(crate) fn issue_ingredients(
    message: &pb::IssueIngredientsRequest,
) -> Result<(
    hmis_platform::idempotency::RequestKey,
    Uuid,
    chrono::NaiveDate,
)> {
    let mut violations = Violations::default();
    let key = violations.request_key(&message.request_id);
    let facility_id = violations.id("facility_id", &message.facility_id);
    let day = violations.check("day", parse_date(&message.day));
    Ok(violations.finish(|| Some((key?, facility_id?, day?)))?)
}

pub(crate) fn report(
    message: &pb::GetNutritionReportRequest,
) -> Result<(Uuid, chrono::NaiveDate, chrono::NaiveDate)> {
    let mut violations = Violations::default();
    let facility_id = violations.id("facility_id", &message.facility_id);
    let period = violations.period(("from_day", &message.from_day), ("to_day", &message.to_day));
    if period.is_some_and(|(from, to)| (to - from).num_days() >= MAX_REPORT_DAYS) {
        violations.add(
            "to_day",
            format!("must be within {MAX_REPORT_DAYS} days of from_day"),
        );
    }
    Ok(violations.finish(|| {
        let (from, to) = period?;
        Some((facility_id?, from, to))
    })?)
}
