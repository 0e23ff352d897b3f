//! The demo's kitchen: the national diet tables 1 to 15 with textures, a gluten-free diet and
//! nil by mouth; the kitchen department's food store stocked with a dozen foods; recipes of
//! them; breakfast, lunch and dinner times; a 14-day cycle menu of the general (table 15),
//! diabetic (table 9) and cardiac (table 10) diets from the day the demo is loaded; cardiology
//! on table 10 by default. Loaded once: a tenant with diets keeps its kitchen.

use chrono::Utc;
use core_pb::facility_service_server::FacilityService;
use hmis_nutrition::NutritionApi;
use hmis_platform::TenantId;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::nutrition::v1 as pb;
use inventory_pb::inventory_service_server::InventoryService;
use pb::nutrition_service_server::NutritionService;
use tonic::Status;

use super::organisation::DemoWards;
use super::{missing, request};
use hmis_core::CoreModule;
use hmis_inventory::InventoryApi;

/// Diets: code, name, kind, daily kcal from and to, carbohydrate and sodium at most.
const DIETS: &[(&str, &str, pb::DietKind, i32, i32, i32, i32)] = &[
    (
        "T1",
        "Table 1 (peptic ulcer)",
        pb::DietKind::Table,
        2800,
        3000,
        0,
        0,
    ),
    (
        "T2",
        "Table 2 (chronic gastritis)",
        pb::DietKind::Table,
        2800,
        3100,
        0,
        0,
    ),
    (
        "T3",
        "Table 3 (constipation)",
        pb::DietKind::Table,
        2800,
        3000,
        0,
        0,
    ),
    (
        "T4",
        "Table 4 (intestinal disease)",
        pb::DietKind::Table,
        2000,
        2100,
        250,
        0,
    ),
    (
        "T5",
        "Table 5 (liver and gall bladder)",
        pb::DietKind::Table,
        2400,
        2600,
        0,
        0,
    ),
    (
        "T6",
        "Table 6 (gout, urate stones)",
        pb::DietKind::Table,
        2700,
        2900,
        0,
        0,
    ),
    (
        "T7",
        "Table 7 (renal)",
        pb::DietKind::Table,
        2700,
        2900,
        0,
        2000,
    ),
    (
        "T8",
        "Table 8 (obesity)",
        pb::DietKind::Table,
        1600,
        1800,
        150,
        0,
    ),
    (
        "T9",
        "Table 9 (diabetes)",
        pb::DietKind::Table,
        2000,
        2300,
        300,
        0,
    ),
    (
        "T10",
        "Table 10 (cardiovascular)",
        pb::DietKind::Table,
        2200,
        2500,
        0,
        2300,
    ),
    (
        "T11",
        "Table 11 (tuberculosis, high energy)",
        pb::DietKind::Table,
        3000,
        3500,
        0,
        0,
    ),
    (
        "T12",
        "Table 12 (nervous system)",
        pb::DietKind::Table,
        2300,
        2500,
        0,
        0,
    ),
    (
        "T13",
        "Table 13 (acute infections)",
        pb::DietKind::Table,
        2200,
        2300,
        0,
        0,
    ),
    (
        "T14",
        "Table 14 (phosphate stones)",
        pb::DietKind::Table,
        2800,
        3000,
        0,
        0,
    ),
    (
        "T15",
        "Table 15 (general)",
        pb::DietKind::Table,
        1600,
        3000,
        0,
        0,
    ),
    ("GF", "Gluten free", pb::DietKind::Special, 1800, 2800, 0, 0),
    ("PUREE", "Pureed", pb::DietKind::Texture, 0, 0, 0, 0),
    ("LIQ", "Liquid", pb::DietKind::Texture, 0, 0, 0, 0),
    ("NBM", "Nil by mouth", pb::DietKind::NilByMouth, 0, 0, 0, 0),
];

/// A food of the store: code, name, unit, allergens, unit of issue, unit cost, in stock.
type Food = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
    &'static str,
);

const FOODS: &[Food] = &[
    (
        "F-OATS",
        "Rolled oats",
        "kg",
        &["gluten"],
        "0.5",
        "22",
        "40",
    ),
    ("F-MILK", "Milk 2.5%", "l", &["milk"], "1", "16", "120"),
    ("F-EGGS", "Eggs", "piece", &["eggs"], "10", "2.2", "600"),
    (
        "F-BREAD",
        "Wheat bread",
        "kg",
        &["gluten"],
        "0.5",
        "12",
        "60",
    ),
    ("F-CHICK", "Chicken breast", "kg", &[], "0.5", "85", "50"),
    (
        "F-BEEF",
        "Beef",
        "kg",
        &["beef", "meat"],
        "0.5",
        "140",
        "30",
    ),
    ("F-FISH", "Hake fillet", "kg", &["fish"], "0.5", "120", "30"),
    ("F-RICE", "Rice", "kg", &[], "1", "25", "60"),
    ("F-BUCK", "Buckwheat", "kg", &[], "1", "28", "60"),
    ("F-POTATO", "Potatoes", "kg", &[], "1", "8", "150"),
    (
        "F-VEG",
        "Vegetables for soup",
        "kg",
        &["celery"],
        "1",
        "14",
        "80",
    ),
    ("F-APPLE", "Apples", "piece", &[], "1", "3", "400"),
];

/// Recipes: code, name, course, kcal, protein, fat, carbohydrate, sodium, ingredients.
type Recipe = (
    &'static str,
    &'static str,
    pb::Course,
    [i32; 5],
    &'static [(&'static str, &'static str)],
);

const RECIPES: &[Recipe] = &[
    (
        "PORRIDGE",
        "Oat porridge with milk",
        pb::Course::Main,
        [300, 11, 9, 45, 150],
        &[("F-OATS", "0.06"), ("F-MILK", "0.2")],
    ),
    (
        "OMELETTE",
        "Steamed omelette",
        pb::Course::Main,
        [260, 17, 19, 3, 320],
        &[("F-EGGS", "2"), ("F-MILK", "0.05")],
    ),
    (
        "BREAD",
        "Wheat bread",
        pb::Course::Bread,
        [250, 8, 2, 49, 480],
        &[("F-BREAD", "0.1")],
    ),
    (
        "SOUP",
        "Vegetable soup",
        pb::Course::Soup,
        [120, 3, 4, 18, 600],
        &[("F-VEG", "0.15"), ("F-POTATO", "0.08")],
    ),
    (
        "CHICKEN",
        "Boiled chicken",
        pb::Course::Main,
        [330, 45, 15, 0, 180],
        &[("F-CHICK", "0.15")],
    ),
    (
        "BEEF",
        "Beef stew",
        pb::Course::Main,
        [380, 38, 24, 4, 350],
        &[("F-BEEF", "0.15")],
    ),
    (
        "FISH",
        "Baked hake",
        pb::Course::Main,
        [260, 36, 12, 0, 260],
        &[("F-FISH", "0.15")],
    ),
    (
        "RICE",
        "Boiled rice",
        pb::Course::Side,
        [250, 5, 1, 55, 10],
        &[("F-RICE", "0.07")],
    ),
    (
        "BUCKWHEAT",
        "Buckwheat",
        pb::Course::Side,
        [240, 9, 2, 46, 10],
        &[("F-BUCK", "0.07")],
    ),
    (
        "MASH",
        "Mashed potatoes",
        pb::Course::Side,
        [220, 5, 8, 32, 300],
        &[("F-POTATO", "0.2"), ("F-MILK", "0.05")],
    ),
    (
        "APPLE",
        "Baked apple",
        pb::Course::Dessert,
        [90, 0, 0, 23, 0],
        &[("F-APPLE", "1")],
    ),
];

pub async fn load_nutrition(
    nutrition: &NutritionApi,
    (core, inventory): (&CoreModule, &InventoryApi),
    tenant_id: TenantId,
    wards: &DemoWards,
) -> Result<(), Status> {
    let existing = nutrition
        .list_diets(request(tenant_id, pb::ListDietsRequest {}))
        .await?
        .into_inner()
        .diets;
    if !existing.is_empty() {
        return Ok(());
    }
    let kitchen = wards.get("KIT").ok_or_else(|| missing("kitchen"))?;
    let facility_id = core
        .facility_api()
        .get_department(request(
            tenant_id,
            core_pb::GetDepartmentRequest {
                id: kitchen.clone(),
            },
        ))
        .await?
        .into_inner()
        .department
        .ok_or_else(|| missing("department"))?
        .facility_id;
    let mut diets = std::collections::HashMap::new();
    for (code, name, kind, kcal_min, kcal_max, carbohydrate, sodium) in DIETS {
        let diet = nutrition
            .create_diet(request(
                tenant_id,
                pb::CreateDietRequest {
                    request_id: format!("demo-diet-{code}"),
                    diet: Some(pb::Diet {
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        kind: (*kind).into(),
                        targets: Some(pb::NutritionalTargets {
                            energy_kcal_min: *kcal_min,
                            energy_kcal_max: *kcal_max,
                            carbohydrate_g_max: *carbohydrate,
                            sodium_mg_max: *sodium,
                            ..Default::default()
                        }),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .diet
            .ok_or_else(|| missing("diet"))?;
        diets.insert(*code, diet.id);
    }

    let store = inventory
        .create_warehouse(request(
            tenant_id,
            inventory_pb::CreateWarehouseRequest {
                request_id: "demo-warehouse-FOOD".to_owned(),
                warehouse: Some(inventory_pb::Warehouse {
                    code: "FOOD".to_owned(),
                    name: "Kitchen food store".to_owned(),
                    kind: inventory_pb::WarehouseKind::Other.into(),
                    facility_id: facility_id.clone(),
                    department_id: kitchen.clone(),
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .warehouse
        .ok_or_else(|| missing("warehouse"))?
        .id;
    let mut items = std::collections::HashMap::new();
    let mut receipt = Vec::new();
    for (code, name, unit, _, _, cost, quantity) in FOODS {
        let item = inventory
            .create_item(request(
                tenant_id,
                inventory_pb::CreateItemRequest {
                    request_id: format!("demo-item-{code}"),
                    item: Some(inventory_pb::Item {
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        item_class: inventory_pb::ItemClass::Food.into(),
                        base_unit: (*unit).to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .item
            .ok_or_else(|| missing("item"))?;
        receipt.push(inventory_pb::ReceiptLine {
            item_id: item.id.clone(),
            lot_number: format!("{code}-DEMO"),
            expiry_date: (Utc::now().date_naive() + chrono::Duration::days(60)).to_string(),
            quantity: (*quantity).to_owned(),
            unit_cost: (*cost).to_owned(),
            provenance: inventory_pb::Provenance::Purchase.into(),
            ..Default::default()
        });
        items.insert(*code, item.id);
    }
    inventory
        .receive_stock(request(
            tenant_id,
            inventory_pb::ReceiveStockRequest {
                request_id: "demo-receipt-FOOD".to_owned(),
                warehouse_id: store.clone(),
                supplier: "Agro Demo SRL".to_owned(),
                invoice_number: "DEMO-FOOD-1".to_owned(),
                lines: receipt,
            },
        ))
        .await?;

    let meal = |meal: pb::Meal, cutoff: &str, serve: &str| pb::MealTime {
        meal: meal.into(),
        cutoff: cutoff.to_owned(),
        serve: serve.to_owned(),
    };
    let general = diets.get("T15").ok_or_else(|| missing("general diet"))?;
    nutrition
        .set_kitchen(request(
            tenant_id,
            pb::SetKitchenRequest {
                request_id: "demo-kitchen".to_owned(),
                kitchen: Some(pb::Kitchen {
                    facility_id: facility_id.clone(),
                    warehouse_id: store,
                    department_id: kitchen.clone(),
                    cycle_start: Utc::now().date_naive().to_string(),
                    cycle_days: 14,
                    meal_times: vec![
                        meal(pb::Meal::Breakfast, "06:00", "08:00"),
                        meal(pb::Meal::Lunch, "10:00", "13:00"),
                        meal(pb::Meal::Dinner, "15:00", "18:00"),
                    ],
                    default_diet_id: general.clone(),
                }),
            },
        ))
        .await?;
    let cardiac = diets.get("T10").ok_or_else(|| missing("cardiac diet"))?;
    let cardiology = wards.get("CARD").ok_or_else(|| missing("cardiology"))?;
    nutrition
        .set_ward_diet(request(
            tenant_id,
            pb::SetWardDietRequest {
                request_id: "demo-ward-diet-CARD".to_owned(),
                department_id: cardiology.clone(),
                diet_id: cardiac.clone(),
            },
        ))
        .await?;

    for (code, _, _, allergens, step, _, _) in FOODS {
        nutrition
            .register_ingredient(request(
                tenant_id,
                pb::RegisterIngredientRequest {
                    request_id: format!("demo-ingredient-{code}"),
                    ingredient: Some(pb::Ingredient {
                        code: (*code).to_owned(),
                        issue_step: (*step).to_owned(),
                        allergens: allergens.iter().map(|a| (*a).to_owned()).collect(),
                        ..Default::default()
                    }),
                },
            ))
            .await?;
    }
    let mut recipes = std::collections::HashMap::new();
    for (code, name, course, [kcal, protein, fat, carbohydrate, sodium], ingredients) in RECIPES {
        let recipe = nutrition
            .create_recipe(request(
                tenant_id,
                pb::CreateRecipeRequest {
                    request_id: format!("demo-recipe-{code}"),
                    recipe: Some(pb::Recipe {
                        code: (*code).to_owned(),
                        name: (*name).to_owned(),
                        course: (*course).into(),
                        per_portion: Some(pb::Nutrients {
                            energy_kcal: *kcal,
                            protein_g: *protein,
                            fat_g: *fat,
                            carbohydrate_g: *carbohydrate,
                            sodium_mg: *sodium,
                        }),
                        ingredients: ingredients
                            .iter()
                            .map(|(item, quantity)| pb::RecipeIngredient {
                                item_id: items.get(item).cloned().unwrap_or_default(),
                                quantity: (*quantity).to_owned(),
                            })
                            .collect(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .recipe
            .ok_or_else(|| missing("recipe"))?;
        recipes.insert(*code, recipe.id);
    }

    // Fourteen days: mains and sides turn over day by day; fish has chicken to stand in.
    let recipe = |code: &str| recipes.get(code).cloned().unwrap_or_default();
    let course = |course: pb::Course, code: &str, substitute: &str| pb::MenuCourse {
        course: course.into(),
        recipe_id: recipe(code),
        substitute_recipe_id: if substitute.is_empty() {
            String::new()
        } else {
            recipe(substitute)
        },
    };
    let mains = ["CHICKEN", "FISH", "BEEF"];
    let sides = ["RICE", "BUCKWHEAT", "MASH"];
    for day in 1..=14 {
        let index = usize::try_from(day).unwrap_or(0);
        let main = mains[index % mains.len()];
        let side = sides[index % sides.len()];
        let dinner_main = mains[(index + 1) % mains.len()];
        let substitute = |main: &str| if main == "FISH" { "CHICKEN" } else { "" };
        for diet in ["T15", "T9", "T10"] {
            let bread = diet == "T15";
            let plans = [
                (
                    pb::Meal::Breakfast,
                    vec![course(
                        pb::Course::Main,
                        if day % 2 == 0 { "OMELETTE" } else { "PORRIDGE" },
                        "",
                    )]
                    .into_iter()
                    .chain(bread.then(|| course(pb::Course::Bread, "BREAD", "")))
                    .collect::<Vec<_>>(),
                ),
                (
                    pb::Meal::Lunch,
                    vec![
                        course(pb::Course::Soup, "SOUP", ""),
                        course(pb::Course::Main, main, substitute(main)),
                        course(pb::Course::Side, side, ""),
                        course(pb::Course::Dessert, "APPLE", ""),
                    ],
                ),
                (
                    pb::Meal::Dinner,
                    vec![
                        course(pb::Course::Main, dinner_main, substitute(dinner_main)),
                        course(
                            pb::Course::Side,
                            if diet == "T9" { "BUCKWHEAT" } else { side },
                            "",
                        ),
                    ],
                ),
            ];
            for (meal, courses) in plans {
                nutrition
                    .set_menu(request(
                        tenant_id,
                        pb::SetMenuRequest {
                            request_id: format!("demo-menu-{diet}-{day}-{}", meal.as_str_name()),
                            facility_id: facility_id.clone(),
                            menu: Some(pb::MenuMeal {
                                cycle_day: day,
                                meal: meal.into(),
                                diet_id: diets.get(diet).cloned().unwrap_or_default(),
                                courses,
                            }),
                        },
                    ))
                    .await?;
            }
        }
    }
    Ok(())
}
