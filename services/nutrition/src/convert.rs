//! Nutrition's rows in the contract's words, and the contract's enumerations parsed into the
//! domain's.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::amount::trim_scale;
use hmis_platform::wire::timestamp;
use hmis_proto::openhmis::nutrition::v1 as pb;
use uuid::Uuid;

use crate::domain::{Course, DietKind, Meal, Miss, OrderSource, RestrictionKind};
use crate::store::{
    DietOrderRow, DietRow, IngredientRow, KitchenRow, LineRow, MealOrderRow, MealTimeRow,
    MenuCourseRow, OrderStatus, RecipeRow, RestrictionRow,
};

fn hh_mm(time: chrono::NaiveTime) -> String {
    time.format("%H:%M").to_string()
}

pub(crate) fn diet_kind_to_pb(kind: DietKind) -> pb::DietKind {
    match kind {
        DietKind::Table => pb::DietKind::Table,
        DietKind::Texture => pb::DietKind::Texture,
        DietKind::Special => pb::DietKind::Special,
        DietKind::NilByMouth => pb::DietKind::NilByMouth,
    }
}

pub(crate) fn parse_diet_kind(value: i32) -> Result<DietKind, &'static str> {
    match pb::DietKind::try_from(value) {
        Ok(pb::DietKind::Table) => Ok(DietKind::Table),
        Ok(pb::DietKind::Texture) => Ok(DietKind::Texture),
        Ok(pb::DietKind::Special) => Ok(DietKind::Special),
        Ok(pb::DietKind::NilByMouth) => Ok(DietKind::NilByMouth),
        _ => Err("must be a diet kind"),
    }
}

pub(crate) fn meal_to_pb(meal: Meal) -> pb::Meal {
    match meal {
        Meal::Breakfast => pb::Meal::Breakfast,
        Meal::Lunch => pb::Meal::Lunch,
        Meal::Dinner => pb::Meal::Dinner,
    }
}

pub(crate) fn parse_meal(value: i32) -> Result<Meal, &'static str> {
    match pb::Meal::try_from(value) {
        Ok(pb::Meal::Breakfast) => Ok(Meal::Breakfast),
        Ok(pb::Meal::Lunch) => Ok(Meal::Lunch),
        Ok(pb::Meal::Dinner) => Ok(Meal::Dinner),
        _ => Err("must be a meal"),
    }
}

pub(crate) fn course_to_pb(course: Course) -> pb::Course {
    match course {
        Course::Soup => pb::Course::Soup,
        Course::Main => pb::Course::Main,
        Course::Side => pb::Course::Side,
        Course::Dessert => pb::Course::Dessert,
        Course::Drink => pb::Course::Drink,
        Course::Bread => pb::Course::Bread,
    }
}

pub(crate) fn parse_course(value: i32) -> Result<Course, &'static str> {
    match pb::Course::try_from(value) {
        Ok(pb::Course::Soup) => Ok(Course::Soup),
        Ok(pb::Course::Main) => Ok(Course::Main),
        Ok(pb::Course::Side) => Ok(Course::Side),
        Ok(pb::Course::Dessert) => Ok(Course::Dessert),
        Ok(pb::Course::Drink) => Ok(Course::Drink),
        Ok(pb::Course::Bread) => Ok(Course::Bread),
        _ => Err("must be a course"),
    }
}

fn restriction_kind_to_pb(kind: RestrictionKind) -> pb::RestrictionKind {
    match kind {
        RestrictionKind::Allergy => pb::RestrictionKind::Allergy,
        RestrictionKind::Intolerance => pb::RestrictionKind::Intolerance,
        RestrictionKind::Religious => pb::RestrictionKind::Religious,
        RestrictionKind::Personal => pb::RestrictionKind::Personal,
    }
}

pub(crate) fn parse_restriction_kind(value: i32) -> Result<RestrictionKind, &'static str> {
    match pb::RestrictionKind::try_from(value) {
        Ok(pb::RestrictionKind::Allergy) => Ok(RestrictionKind::Allergy),
        Ok(pb::RestrictionKind::Intolerance) => Ok(RestrictionKind::Intolerance),
        Ok(pb::RestrictionKind::Religious) => Ok(RestrictionKind::Religious),
        Ok(pb::RestrictionKind::Personal) => Ok(RestrictionKind::Personal),
        _ => Err("must be a restriction kind"),
    }
}

pub(crate) fn diet_to_pb(row: &DietRow) -> pb::Diet {
    pb::Diet {
        id: row.id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        kind: diet_kind_to_pb(row.kind).into(),
        targets: Some(pb::NutritionalTargets {
            energy_kcal_min: row.energy_kcal_min,
            energy_kcal_max: row.energy_kcal_max,
            protein_g_min: row.protein_g_min,
            fat_g_max: row.fat_g_max,
            carbohydrate_g_max: row.carbohydrate_g_max,
            sodium_mg_max: row.sodium_mg_max,
        }),
    }
}

pub(crate) fn kitchen_to_pb(row: &KitchenRow, times: &[MealTimeRow]) -> pb::Kitchen {
    pb::Kitchen {
        facility_id: row.facility_id.to_string(),
        warehouse_id: row.warehouse_id.to_string(),
        department_id: row.department_id.to_string(),
        cycle_start: row.cycle_start.to_string(),
        cycle_days: row.cycle_days,
        meal_times: times
            .iter()
            .map(|time| pb::MealTime {
                meal: meal_to_pb(time.meal).into(),
                cutoff: hh_mm(time.cutoff),
                serve: hh_mm(time.serve),
            })
            .collect(),
        default_diet_id: row.default_diet_id.to_string(),
    }
}

pub(crate) fn restriction_to_pb(row: &RestrictionRow) -> pb::Restriction {
    pb::Restriction {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        kind: restriction_kind_to_pb(row.kind).into(),
        allergen: row.allergen.clone(),
        note: row.note.clone(),
        recorded_by: row.recorded_by.to_string(),
        record_time: timestamp(row.recorded_at),
    }
}

pub(crate) fn diet_order_to_pb(row: &DietOrderRow) -> pb::DietOrder {
    pb::DietOrder {
        id: row.id.to_string(),
        patient_id: row.patient_id.to_string(),
        diet_id: row.diet_id.to_string(),
        start_time: timestamp(row.start_at),
        end_time: row.end_at.and_then(timestamp),
        note: row.note.clone(),
        source: match row.source {
            OrderSource::Ordered => pb::DietOrderSource::Ordered,
            OrderSource::Operation => pb::DietOrderSource::Operation,
        }
        .into(),
        operation_id: row
            .operation_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        ordered_by: row.ordered_by.map(|id| id.to_string()).unwrap_or_default(),
    }
}

/// What a meal order says of itself besides its lines.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OrderHead {
    pub(crate) department_id: Uuid,
    pub(crate) facility_id: Uuid,
    pub(crate) day: NaiveDate,
    pub(crate) meal: Meal,
    pub(crate) sent: bool,
    pub(crate) cutoff_at: DateTime<Utc>,
    pub(crate) sent_at: Option<DateTime<Utc>>,
}

impl OrderHead {
    pub(crate) fn of(order: &MealOrderRow) -> Self {
        Self {
            department_id: order.department_id,
            facility_id: order.facility_id,
            day: order.day,
            meal: order.meal,
            sent: order.status == OrderStatus::Sent,
            cutoff_at: order.cutoff_at,
            sent_at: order.sent_at,
        }
    }
}

fn optional(id: Option<Uuid>) -> String {
    id.map(|id| id.to_string()).unwrap_or_default()
}

pub(crate) fn line_to_pb(line: &LineRow, codes: &HashMap<Uuid, String>) -> pb::MealOrderLine {
    pb::MealOrderLine {
        patient_id: optional(line.patient_id),
        admission_id: optional(line.admission_id),
        bed_id: optional(line.bed_id),
        diet_id: line.diet_id.to_string(),
        diet_code: codes.get(&line.diet_id).cloned().unwrap_or_default(),
        portions: line.portions,
        amendment: line.amendment,
        reason: line.reason.clone(),
    }
}

/// A meal order with its lines and their sum per diet.
pub(crate) fn meal_order(
    head: &OrderHead,
    lines: &[LineRow],
    codes: &HashMap<Uuid, String>,
) -> pb::MealOrder {
    let mut totals: BTreeMap<(String, Uuid), i32> = BTreeMap::new();
    for line in lines {
        let code = codes.get(&line.diet_id).cloned().unwrap_or_default();
        *totals.entry((code, line.diet_id)).or_default() += line.portions;
    }
    pb::MealOrder {
        department_id: head.department_id.to_string(),
        facility_id: head.facility_id.to_string(),
        day: head.day.to_string(),
        meal: meal_to_pb(head.meal).into(),
        status: if head.sent {
            pb::MealOrderStatus::Sent
        } else {
            pb::MealOrderStatus::Open
        }
        .into(),
        cutoff_time: timestamp(head.cutoff_at),
        sent_time: head.sent_at.and_then(timestamp),
        lines: lines.iter().map(|line| line_to_pb(line, codes)).collect(),
        totals: totals
            .into_iter()
            .filter(|(_, portions)| *portions != 0)
            .map(|((diet_code, diet_id), portions)| pb::DietPortions {
                diet_id: diet_id.to_string(),
                diet_code,
                portions,
            })
            .collect(),
    }
}

pub(crate) fn ingredient_to_pb(row: &IngredientRow) -> pb::Ingredient {
    pb::Ingredient {
        item_id: row.item_id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        base_unit: row.base_unit.clone(),
        issue_step: trim_scale(&row.issue_step),
        allergens: row.allergens.clone(),
    }
}

/// A recipe with its ingredients (`ingredients`: recipe, item, quantity of any recipes).
pub(crate) fn recipe_to_pb(row: &RecipeRow, ingredients: &[(Uuid, Uuid, String)]) -> pb::Recipe {
    pb::Recipe {
        id: row.id.to_string(),
        code: row.code.clone(),
        name: row.name.clone(),
        course: course_to_pb(row.course).into(),
        per_portion: Some(pb::Nutrients {
            energy_kcal: row.energy_kcal,
            protein_g: row.protein_g,
            fat_g: row.fat_g,
            carbohydrate_g: row.carbohydrate_g,
            sodium_mg: row.sodium_mg,
        }),
        ingredients: ingredients
            .iter()
            .filter(|(recipe, ..)| *recipe == row.id)
            .map(|(_, item, quantity)| pb::RecipeIngredient {
                item_id: item.to_string(),
                quantity: trim_scale(quantity),
            })
            .collect(),
        allergens: row.allergens.clone(),
    }
}

/// A day's menu rows as the meals of each diet.
pub(crate) fn menu_to_pb(rows: &[MenuCourseRow]) -> Vec<pb::MenuMeal> {
    let mut meals: BTreeMap<(Uuid, Meal), pb::MenuMeal> = BTreeMap::new();
    for row in rows {
        meals
            .entry((row.diet_id, row.meal))
            .or_insert_with(|| pb::MenuMeal {
                cycle_day: row.cycle_day,
                meal: meal_to_pb(row.meal).into(),
                diet_id: row.diet_id.to_string(),
                courses: Vec::new(),
            })
            .courses
            .push(pb::MenuCourse {
                course: course_to_pb(row.course).into(),
                recipe_id: row.recipe_id.to_string(),
                substitute_recipe_id: optional(row.substitute_recipe_id),
            });
    }
    let mut meals: Vec<pb::MenuMeal> = meals.into_values().collect();
    for meal in &mut meals {
        meal.courses.sort_by_key(|course| course.course);
    }
    meals
}

pub(crate) fn warning_to_pb(diet_id: Uuid, cycle_day: i32, miss: &Miss) -> pb::TargetWarning {
    pb::TargetWarning {
        diet_id: diet_id.to_string(),
        cycle_day,
        target: miss.target.to_owned(),
        target_value: miss.target_value,
        menu_value: miss.menu_value,
    }
}
