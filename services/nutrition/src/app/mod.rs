//! The use cases of nutrition, one function per RPC (`catalogue`: diets, wards' diets and
//! kitchens; `patients`: restrictions and diet orders; `meals`: the wards' meal orders, the
//! cut-off and amendments, distribution lists; `kitchen`: ingredients, recipes, menus, the
//! production sheet, issues and the report). What a use case is asked comes parsed
//! (`grpc/parse.rs`); it answers in the contract's messages (`convert.rs`).
//!
//! This file holds what they share: a ward's meal as it stands (sent, or computed from who is
//! in the ward now and their diets), and the day's menu as trays are made from it.

mod catalogue;
mod kitchen;
mod meals;
mod patients;

pub(crate) use catalogue::{NewDiet, NewKitchen};
pub(crate) use kitchen::{MenuSetting, NewIngredient, NewRecipe};
pub(crate) use meals::{Adjustment, MealQuery};
pub(crate) use patients::{NewDietOrder, NewRestriction};

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use hmis_platform::RequestContext;
use hmis_platform::TenantTx;
use hmis_platform::audit::{self, AuditEntry};
use hmis_platform::call::Calls;
use hmis_platform::days::at_local;
use hmis_platform::outbox::Outbox;
use uuid::Uuid;

use crate::directory::Directory;
use crate::domain::{LineKind, Meal, MenuLine, RecipeFacts, TrayPlan, tray};
use crate::error::{Error, Result};
use crate::store::{self, KitchenRow, LineRow, MealOrderRow, MealTimeRow, OrderStatus, RecipeRow};

pub(crate) const READ: &str = "nutrition.read";
pub(crate) const ORDER: &str = "nutrition.order";
pub(crate) const KITCHEN: &str = "nutrition.kitchen";
pub(crate) const MANAGE: &str = "nutrition.manage";

const SERVICE: &str = "/openhmis.nutrition.v1.NutritionService/";

fn method(name: &str) -> String {
    format!("{SERVICE}{name}")
}

#[derive(Debug)]
pub(crate) struct Nutrition {
    pub(crate) calls: Calls<Error>,
    pub(crate) outbox: Outbox,
    pub(crate) directory: Directory,
}

/// Records the call's access to `patients` (none for reference data) in its transaction.
async fn record(
    tx: &mut TenantTx,
    context: &RequestContext,
    patients: &[Uuid],
    now: DateTime<Utc>,
) -> Result<()> {
    audit::record(tx, context, &AuditEntry::ok(patients), now).await?;
    Ok(())
}

/// The kitchen of a facility; a facility without one is `field`'s fault.
async fn kitchen_of(
    tx: &mut TenantTx,
    facility_id: Uuid,
    field: &'static str,
) -> Result<KitchenRow> {
    store::get_kitchen(tx, facility_id)
        .await?
        .ok_or_else(|| Error::invalid(field, "has no kitchen set up"))
}

/// The time of `meal` at a kitchen; a meal it does not serve is `field`'s fault.
async fn meal_time_of(
    tx: &mut TenantTx,
    facility_id: Uuid,
    meal: Meal,
    field: &'static str,
) -> Result<MealTimeRow> {
    store::meal_times(tx, facility_id)
        .await?
        .into_iter()
        .find(|time| time.meal == meal)
        .ok_or_else(|| Error::invalid(field, "is not a meal this kitchen serves"))
}

/// When a meal's orders close and when it is served, on `day` in the kitchen's zone.
fn instants(
    zone: &chrono_tz::Tz,
    day: NaiveDate,
    time: &MealTimeRow,
) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        at_local(zone, day, time.cutoff),
        at_local(zone, day, time.serve),
    )
}

/// Which diet each patient of a facility has at a meal: nil by mouth for an operation, an
/// ordered diet, the ward's default, the kitchen's default, in that order.
struct Diets {
    ordered: HashMap<Uuid, Uuid>,
    wards: HashMap<Uuid, Uuid>,
    default: Uuid,
}

impl Diets {
    async fn at(
        tx: &mut TenantTx,
        kitchen: &KitchenRow,
        patients: &[Uuid],
        serve_at: DateTime<Utc>,
    ) -> Result<Self> {
        Ok(Self {
            ordered: store::ordered_diets_at(tx, patients, serve_at).await?,
            wards: store::ward_diets(tx, kitchen.facility_id).await?,
            default: kitchen.default_diet_id,
        })
    }

    fn of(&self, patient_id: Uuid, ward: Uuid) -> Uuid {
        (self.ordered.get(&patient_id))
            .or_else(|| self.wards.get(&ward))
            .copied()
            .unwrap_or(self.default)
    }
}

/// A ward's part of a meal: its order (none yet before anyone adjusted it) and its lines.
#[derive(Debug, Clone)]
pub(crate) struct WardMeal {
    pub(crate) department_id: Uuid,
    pub(crate) order: Option<MealOrderRow>,
    pub(crate) lines: Vec<LineRow>,
}

/// A meal of a facility's day as it stands: sent at the cut-off (the orders' lines, with
/// amendments), or open (computed from who is in the wards now and their diets at the meal,
/// with the nurses' adjustments).
#[derive(Debug, Clone)]
pub(crate) struct MealView {
    pub(crate) cutoff_at: DateTime<Utc>,
    /// Whether the facility's meal was sent (a ward with nobody then has no order).
    pub(crate) sent: bool,
    pub(crate) wards: Vec<WardMeal>,
}

/// The patients' portion lines of a meal computed from who is in the wards (or `ward`) at
/// `present_at` and their diets at the meal; each line names `order_of` its ward's order.
async fn patient_lines(
    tx: &mut TenantTx,
    kitchen: &KitchenRow,
    ward: Option<Uuid>,
    (present_at, serve_at): (DateTime<Utc>, DateTime<Utc>),
) -> Result<BTreeMap<Uuid, Vec<LineRow>>> {
    let present = store::present(tx, kitchen.facility_id, ward, present_at).await?;
    let patients: Vec<Uuid> = present.iter().map(|row| row.patient_id).collect();
    let diets = Diets::at(tx, kitchen, &patients, serve_at).await?;
    let mut wards: BTreeMap<Uuid, Vec<LineRow>> = BTreeMap::new();
    for row in present {
        wards.entry(row.department_id).or_default().push(LineRow {
            meal_order_id: Uuid::nil(),
            kind: LineKind::Patient,
            patient_id: Some(row.patient_id),
            admission_id: Some(row.admission_id),
            bed_id: row.bed_id,
            diet_id: diets.of(row.patient_id, row.department_id),
            portions: 1,
            amendment: false,
            reason: String::new(),
        });
    }
    Ok(wards)
}

/// The meal `time` of `day` at the kitchen, for every ward or one.
async fn meal_view(
    tx: &mut TenantTx,
    kitchen: &KitchenRow,
    (day, time): (NaiveDate, &MealTimeRow),
    ward: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<MealView> {
    let (cutoff_at, serve_at) = instants(&kitchen.zone()?, day, time);
    let orders: Vec<MealOrderRow> = store::meal_orders_of_day(tx, kitchen.facility_id, day)
        .await?
        .into_iter()
        .filter(|order| order.meal == time.meal)
        .filter(|order| ward.is_none_or(|ward| order.department_id == ward))
        .collect();
    let sent = store::round_sent(tx, (kitchen.facility_id, day, time.meal)).await?;
    let ids: Vec<Uuid> = orders.iter().map(|order| order.id).collect();
    let mut stored = store::lines_of(tx, &ids).await?;
    let mut wards: BTreeMap<Uuid, WardMeal> = orders
        .into_iter()
        .map(|order| {
            let lines = stored
                .extract_if(.., |line| line.meal_order_id == order.id)
                .collect();
            (
                order.department_id,
                WardMeal {
                    department_id: order.department_id,
                    order: Some(order),
                    lines,
                },
            )
        })
        .collect();
    if !sent {
        for (department_id, lines) in patient_lines(tx, kitchen, ward, (now, serve_at)).await? {
            let entry = wards.entry(department_id).or_insert_with(|| WardMeal {
                department_id,
                order: None,
                lines: Vec::new(),
            });
            let order_id = entry.order.as_ref().map_or(Uuid::nil(), |order| order.id);
            let adjustments = std::mem::take(&mut entry.lines);
            entry.lines = lines
                .into_iter()
                .map(|line| LineRow {
                    meal_order_id: order_id,
                    ..line
                })
                .chain(adjustments)
                .collect();
        }
    }
    Ok(MealView {
        cutoff_at,
        sent,
        wards: wards.into_values().collect(),
    })
}

/// A patient's portions on a ward's meal: net of amendments and adjustments, and the diet of
/// their portion line.
#[derive(Debug, Clone)]
pub(crate) struct Fed {
    pub(crate) patient_id: Uuid,
    pub(crate) bed_id: Option<Uuid>,
    pub(crate) diet_id: Uuid,
    pub(crate) portions: i32,
}

/// Who is fed at a ward's meal (net portions above nothing), and the extra portions per diet.
pub(crate) fn fed(lines: &[LineRow]) -> (Vec<Fed>, BTreeMap<Uuid, i32>) {
    /// A patient's portion lines per diet, net portions, and bed.
    type Lines = (BTreeMap<Uuid, i32>, i32, Option<Uuid>);
    let mut patients: BTreeMap<Uuid, Lines> = BTreeMap::new();
    let mut extras: BTreeMap<Uuid, i32> = BTreeMap::new();
    for line in lines {
        match line.patient_id {
            Some(patient) => {
                let entry = patients.entry(patient).or_default();
                entry.1 += line.portions;
                if line.kind == LineKind::Patient {
                    *entry.0.entry(line.diet_id).or_default() += line.portions;
                    if line.portions > 0 {
                        entry.2 = line.bed_id;
                    }
                }
            }
            None => *extras.entry(line.diet_id).or_default() += line.portions,
        }
    }
    let fed = patients
        .into_iter()
        .filter_map(|(patient_id, (diets, portions, bed_id))| {
            let diet_id = diets.into_iter().find(|(_, net)| *net > 0)?.0;
            (portions > 0).then_some(Fed {
                patient_id,
                bed_id,
                diet_id,
                portions,
            })
        })
        .collect();
    extras.retain(|_, portions| *portions > 0);
    (fed, extras)
}

/// A day of the cycle menu as trays are made from it.
#[derive(Debug, Default)]
pub(crate) struct Menu {
    courses: HashMap<(Meal, Uuid), Vec<MenuLine>>,
    pub(crate) recipes: HashMap<Uuid, RecipeRow>,
    facts: HashMap<Uuid, RecipeFacts>,
    candidates: HashMap<Uuid, Vec<Uuid>>,
}

impl Menu {
    async fn load(tx: &mut TenantTx, facility_id: Uuid, cycle_day: i32) -> Result<Self> {
        let rows = store::menu_of_day(tx, facility_id, cycle_day).await?;
        let mut candidates: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for (diet, recipe) in store::diet_recipes(tx, facility_id).await? {
            candidates.entry(diet).or_default().push(recipe);
        }
        let mut ids: BTreeSet<Uuid> = candidates.values().flatten().copied().collect();
        let mut courses: HashMap<(Meal, Uuid), Vec<MenuLine>> = HashMap::new();
        for row in rows {
            ids.insert(row.recipe_id);
            ids.extend(row.substitute_recipe_id);
            courses
                .entry((row.meal, row.diet_id))
                .or_default()
                .push(MenuLine {
                    course: row.course,
                    recipe_id: row.recipe_id,
                    substitute_id: row.substitute_recipe_id,
                });
        }
        for lines in courses.values_mut() {
            lines.sort_by_key(|line| line.course);
        }
        let ids: Vec<Uuid> = ids.into_iter().collect();
        let recipes: HashMap<Uuid, RecipeRow> = store::recipes_by_ids(tx, &ids)
            .await?
            .into_iter()
            .map(|recipe| (recipe.id, recipe))
            .collect();
        let facts = recipes
            .iter()
            .map(|(id, recipe)| {
                (
                    *id,
                    RecipeFacts {
                        course: recipe.course,
                        allergens: recipe.allergens.clone(),
                    },
                )
            })
            .collect();
        Ok(Self {
            courses,
            recipes,
            facts,
            candidates,
        })
    }

    /// The tray of a patient on `diet` with `restrictions` at `meal`.
    pub(crate) fn tray(&self, meal: Meal, diet: Uuid, restrictions: &BTreeSet<String>) -> TrayPlan {
        let menu = self
            .courses
            .get(&(meal, diet))
            .map_or(&[][..], Vec::as_slice);
        let candidates = self.candidates.get(&diet).map_or(&[][..], Vec::as_slice);
        tray(menu, &self.facts, candidates, restrictions)
    }
}

/// Whether `order` is sent.
fn is_sent(order: &MealOrderRow) -> bool {
    order.status == OrderStatus::Sent
}
