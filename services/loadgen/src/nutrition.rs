//! Nutrition: a 1,000-bed hospital's kitchen (30 wards of 34 beds, 1,000 patients in them,
//! one in seven on a diabetic diet, one in forty nil by mouth for an operation, one in ten
//! allergic to fish and one in twenty to gluten), its three meals and a day's menu of two
//! diets. Measured: a day's meal orders (breakfast, lunch and dinner sent to the kitchen for
//! every ward: 3,000 patient lines and 90 orders with their events), and the day's production
//! sheet over gRPC (every patient's tray made safe, recipes' portions, ingredients rounded to
//! their units of issue); beside raw PostgreSQL doing the same writes set-based, and the
//! production sheet's aggregate in one statement (without the trays' allergen checks).

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use anyhow::Context;
use hmis_nutrition::domain::Meal;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::nutrition::v1 as pb;
use inventory_pb::inventory_service_client::InventoryServiceClient;
use pb::nutrition_service_client::NutritionServiceClient;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

use crate::bench::{Bench, signed};
use crate::report::{measure, print};

const WARDS: usize = 30;
const BEDS_PER_WARD: usize = 34;
const PATIENTS: usize = 1_000;
const MEALS: [Meal; 3] = [Meal::Breakfast, Meal::Lunch, Meal::Dinner];

/// Foods: code, unit, allergens, unit of issue.
const FOODS: &[(&str, &str, &[&str], &str)] = &[
    ("OATS", "kg", &["gluten"], "0.5"),
    ("MILK", "l", &["milk"], "1"),
    ("EGGS", "piece", &["eggs"], "10"),
    ("BREAD", "kg", &["gluten"], "0.5"),
    ("CHICKEN", "kg", &[], "0.5"),
    ("FISH", "kg", &["fish"], "0.5"),
    ("RICE", "kg", &[], "1"),
    ("POTATO", "kg", &[], "1"),
    ("VEG", "kg", &["celery"], "1"),
    ("APPLE", "piece", &[], "1"),
];

/// Recipes: code, course, ingredients per portion.
type Recipe = (
    &'static str,
    pb::Course,
    &'static [(&'static str, &'static str)],
);

const RECIPES: &[Recipe] = &[
    (
        "PORRIDGE",
        pb::Course::Main,
        &[("OATS", "0.06"), ("MILK", "0.2")],
    ),
    (
        "OMELETTE",
        pb::Course::Main,
        &[("EGGS", "2"), ("MILK", "0.05")],
    ),
    ("BREAD", pb::Course::Bread, &[("BREAD", "0.1")]),
    (
        "SOUP",
        pb::Course::Soup,
        &[("VEG", "0.15"), ("POTATO", "0.08")],
    ),
    ("CHICKEN", pb::Course::Main, &[("CHICKEN", "0.15")]),
    ("FISH", pb::Course::Main, &[("FISH", "0.15")]),
    ("RICE", pb::Course::Side, &[("RICE", "0.07")]),
    (
        "MASH",
        pb::Course::Side,
        &[("POTATO", "0.2"), ("MILK", "0.05")],
    ),
    ("APPLE", pb::Course::Dessert, &[("APPLE", "1")]),
];

pub async fn run(iterations: usize) -> anyhow::Result<()> {
    let bench = Bench::start(&[
        ("bench-pharmacist", "pharmacist"),
        ("bench-dietitian", "dietitian"),
        ("bench-cook", "kitchen"),
    ])
    .await?;
    let pharmacist = bench.login("bench-pharmacist").await?;
    let dietitian = bench.login("bench-dietitian").await?;
    let cook = bench.login("bench-cook").await?;
    let tenant = bench.tenant_id.as_uuid();

    println!("setting up {WARDS} wards of {BEDS_PER_WARD} beds and the kitchen...");
    let facility = bench.facility().await?;
    let mut beds = Vec::with_capacity(WARDS * BEDS_PER_WARD);
    for n in 0..WARDS {
        let (ward, ward_beds) = bench
            .ward(&facility, &format!("W{n}"), BEDS_PER_WARD)
            .await?;
        let ward = Uuid::parse_str(&ward)?;
        for bed in ward_beds {
            beds.push((ward, Uuid::parse_str(&bed)?));
        }
    }
    let kitchen = bench
        .department(&facility, "KIT", core_pb::DepartmentKind::Administrative)
        .await?;
    let mut stock = InventoryServiceClient::new(bench.channel.clone());
    let store = stock
        .create_warehouse(signed(
            &pharmacist,
            inventory_pb::CreateWarehouseRequest {
                request_id: Uuid::new_v4().to_string(),
                warehouse: Some(inventory_pb::Warehouse {
                    code: "FOOD".to_owned(),
                    name: "Food store".to_owned(),
                    kind: inventory_pb::WarehouseKind::Other.into(),
                    facility_id: facility.clone(),
                    department_id: kitchen.clone(),
                    ..Default::default()
                }),
            },
        ))
        .await?
        .into_inner()
        .warehouse
        .context("no warehouse")?
        .id;
    let mut nutrition = NutritionServiceClient::new(bench.channel.clone());
    let mut items = std::collections::HashMap::new();
    for (code, unit, allergens, step) in FOODS {
        let item = stock
            .create_item(signed(
                &pharmacist,
                inventory_pb::CreateItemRequest {
                    request_id: Uuid::new_v4().to_string(),
                    item: Some(inventory_pb::Item {
                        code: (*code).to_owned(),
                        name: code.to_lowercase(),
                        item_class: inventory_pb::ItemClass::Food.into(),
                        base_unit: (*unit).to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .item
            .context("no item")?;
        nutrition
            .register_ingredient(signed(
                &dietitian,
                pb::RegisterIngredientRequest {
                    request_id: Uuid::new_v4().to_string(),
                    ingredient: Some(pb::Ingredient {
                        code: (*code).to_owned(),
                        issue_step: (*step).to_owned(),
                        allergens: allergens.iter().map(|a| (*a).to_owned()).collect(),
                        ..Default::default()
                    }),
                },
            ))
            .await?;
        items.insert(*code, item.id);
    }
    let mut diets = std::collections::HashMap::new();
    for (code, kind) in [
        ("T15", pb::DietKind::Table),
        ("T9", pb::DietKind::Table),
        ("NBM", pb::DietKind::NilByMouth),
    ] {
        let diet = nutrition
            .create_diet(signed(
                &dietitian,
                pb::CreateDietRequest {
                    request_id: Uuid::new_v4().to_string(),
                    diet: Some(pb::Diet {
                        code: code.to_owned(),
                        name: format!("Diet {code}"),
                        kind: kind.into(),
                        ..Default::default()
                    }),
                },
            ))
            .await?
            .into_inner()
            .diet
            .context("no diet")?;
        diets.insert(code, diet.id);
    }
    let meal_time = |meal: pb::Meal, cutoff: &str, serve: &str| pb::MealTime {
        meal: meal.into(),
        cutoff: cutoff.to_owned(),
        serve: serve.to_owned(),
    };
    nutrition
        .set_kitchen(signed(
            &dietitian,
            pb::SetKitchenRequest {
                request_id: Uuid::new_v4().to_string(),
                kitchen: Some(pb::Kitchen {
                    facility_id: facility.clone(),
                    warehouse_id: store,
                    department_id: kitchen,
                    cycle_start: "2026-01-01".to_owned(),
                    cycle_days: 1,
                    meal_times: vec![
                        meal_time(pb::Meal::Breakfast, "06:00", "08:00"),
                        meal_time(pb::Meal::Lunch, "10:00", "13:00"),
                        meal_time(pb::Meal::Dinner, "15:00", "18:00"),
                    ],
                    default_diet_id: diets["T15"].clone(),
                }),
            },
        ))
        .await?;
    let mut recipes = std::collections::HashMap::new();
    for (code, course, ingredients) in RECIPES {
        let recipe = nutrition
            .create_recipe(signed(
                &dietitian,
                pb::CreateRecipeRequest {
                    request_id: Uuid::new_v4().to_string(),
                    recipe: Some(pb::Recipe {
                        code: (*code).to_owned(),
                        name: code.to_lowercase(),
                        course: (*course).into(),
                        per_portion: Some(pb::Nutrients {
                            energy_kcal: 250,
                            ..Default::default()
                        }),
                        ingredients: ingredients
                            .iter()
                            .map(|(item, quantity)| pb::RecipeIngredient {
                                item_id: items[item].clone(),
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
            .context("no recipe")?;
        recipes.insert(*code, recipe.id);
    }
    let course = |course: pb::Course, recipe: &str, substitute: &str| pb::MenuCourse {
        course: course.into(),
        recipe_id: recipes[recipe].clone(),
        substitute_recipe_id: if substitute.is_empty() {
            String::new()
        } else {
            recipes[substitute].clone()
        },
    };
    for diet in ["T15", "T9"] {
        for (meal, courses) in [
            (
                pb::Meal::Breakfast,
                vec![
                    course(pb::Course::Main, "PORRIDGE", "OMELETTE"),
                    course(pb::Course::Bread, "BREAD", ""),
                ],
            ),
            (
                pb::Meal::Lunch,
                vec![
                    course(pb::Course::Soup, "SOUP", ""),
                    course(pb::Course::Main, "FISH", "CHICKEN"),
                    course(pb::Course::Side, "RICE", ""),
                    course(pb::Course::Dessert, "APPLE", ""),
                ],
            ),
            (
                pb::Meal::Dinner,
                vec![
                    course(pb::Course::Main, "CHICKEN", ""),
                    course(pb::Course::Side, "MASH", ""),
                ],
            ),
        ] {
            nutrition
                .set_menu(signed(
                    &dietitian,
                    pb::SetMenuRequest {
                        request_id: Uuid::new_v4().to_string(),
                        facility_id: facility.clone(),
                        menu: Some(pb::MenuMeal {
                            cycle_day: 1,
                            meal: meal.into(),
                            diet_id: diets[diet].clone(),
                            courses,
                        }),
                    },
                ))
                .await?;
        }
    }

    println!("seeding {PATIENTS} patients in the wards, their diets and allergies...");
    let owner = PgPoolOptions::new()
        .max_connections(4)
        .connect_with(bench.db.owner_options())
        .await?;
    let facility_id = Uuid::parse_str(&facility)?;
    let placed = &beds[..PATIENTS];
    let wards: Vec<Uuid> = placed.iter().map(|(ward, _)| *ward).collect();
    let bed_ids: Vec<Uuid> = placed.iter().map(|(_, bed)| *bed).collect();
    sqlx::query(
        "INSERT INTO nutrition.admissions (tenant_id, admission_id, version, patient_id, \
         facility_id) SELECT $1, md5('a' || i)::uuid, 1, md5('p' || i)::uuid, $2 \
         FROM generate_series(1, $3) AS i",
    )
    .bind(tenant)
    .bind(facility_id)
    .bind(i64::try_from(PATIENTS)?)
    .execute(&owner)
    .await?;
    sqlx::query(
        "INSERT INTO nutrition.stays (tenant_id, admission_id, position, patient_id, \
         facility_id, department_id, bed_id, start_at) \
         SELECT $1, md5('a' || n)::uuid, 0, md5('p' || n)::uuid, $2, w, b, \
                now() - interval '2 days' \
         FROM unnest($3::uuid[], $4::uuid[]) WITH ORDINALITY AS t (w, b, n)",
    )
    .bind(tenant)
    .bind(facility_id)
    .bind(&wards)
    .bind(&bed_ids)
    .execute(&owner)
    .await?;
    let diet_id = |code: &str| Uuid::parse_str(&diets[code]);
    sqlx::query(
        "INSERT INTO nutrition.diet_orders (tenant_id, id, patient_id, diet_id, start_at, \
         source, created_at) SELECT $1, gen_random_uuid(), md5('p' || i)::uuid, \
         CASE WHEN i % 40 = 0 THEN $3 ELSE $2 END, now() - interval '1 day', \
         CASE WHEN i % 40 = 0 THEN 'operation' ELSE 'ordered' END, now() \
         FROM generate_series(1, $4) AS i WHERE i % 7 = 0 OR i % 40 = 0",
    )
    .bind(tenant)
    .bind(diet_id("T9")?)
    .bind(diet_id("NBM")?)
    .bind(i64::try_from(PATIENTS)?)
    .execute(&owner)
    .await?;
    sqlx::query(
        "INSERT INTO nutrition.restrictions (tenant_id, id, patient_id, kind, allergen, \
         recorded_by, recorded_at) \
         SELECT $1, gen_random_uuid(), md5('p' || i)::uuid, 'allergy', \
                CASE WHEN i % 10 = 0 THEN 'fish' ELSE 'gluten' END, $2, now() \
         FROM generate_series(1, $3) AS i WHERE i % 10 = 0 OR i % 20 = 5",
    )
    .bind(tenant)
    .bind(Uuid::nil())
    .bind(i64::try_from(PATIENTS)?)
    .execute(&owner)
    .await?;

    // Each measured day is a day of its own (a meal is sent once), far from today.
    let today = chrono::Utc::now().date_naive();
    let next_day = Arc::new(AtomicI64::new(100));
    let sent_days = Arc::new(std::sync::Mutex::new(Vec::new()));
    let send = {
        let (module, next_day, sent_days) =
            (bench.nutrition.clone(), next_day.clone(), sent_days.clone());
        move || {
            let (module, next_day, sent_days) =
                (module.clone(), next_day.clone(), sent_days.clone());
            async move {
                let day = today + chrono::Duration::days(next_day.fetch_add(1, Ordering::Relaxed));
                let mut wards = 0;
                for meal in MEALS {
                    wards += module
                        .send_meal(bench_tenant(tenant), facility_id, (day, meal))
                        .await?;
                }
                anyhow::ensure!(wards == 3 * WARDS, "every ward's meals sent: {wards}");
                sent_days
                    .lock()
                    .map_err(|_| anyhow::anyhow!("lock"))?
                    .push(day);
                Ok(())
            }
        }
    };
    let send_sample = measure(
        "a day's meal orders (3 meals x 30 wards, 1,000 patients)",
        iterations,
        send,
    )
    .await?;
    let days: Vec<chrono::NaiveDate> = sent_days
        .lock()
        .map_err(|_| anyhow::anyhow!("lock"))?
        .clone();
    let read_at = Arc::new(AtomicI64::new(0));
    let sheet = {
        let (channel, cook, facility, days, read_at) = (
            bench.channel.clone(),
            cook.clone(),
            facility.clone(),
            days.clone(),
            read_at.clone(),
        );
        move || {
            let mut nutrition = NutritionServiceClient::new(channel.clone());
            let (cook, facility) = (cook.clone(), facility.clone());
            let n = usize::try_from(read_at.fetch_add(1, Ordering::Relaxed)).unwrap_or(0);
            let day = days[n % days.len()];
            async move {
                let sheet = nutrition
                    .get_production_sheet(signed(
                        &cook,
                        pb::GetProductionSheetRequest {
                            facility_id: facility,
                            day: day.to_string(),
                        },
                    ))
                    .await?
                    .into_inner();
                anyhow::ensure!(
                    sheet.ingredients.len() == FOODS.len(),
                    "every food on the sheet: {}",
                    sheet.ingredients.len()
                );
                Ok(())
            }
        }
    };
    let sheet_sample = measure(
        "gRPC GetProductionSheet (the day: 3,000 trays made safe)",
        iterations,
        sheet,
    )
    .await?;

    // Raw PostgreSQL: the same writes set-based, a transaction per meal (the round, the
    // wards' orders, a line per patient with its diet, the orders sent, an event per ward).
    let raw_next = Arc::new(AtomicI64::new(10_000));
    let raw_send = {
        let (owner, raw_next) = (owner.clone(), raw_next.clone());
        let (general, payload) = (diet_id("T15")?, vec![7u8; 4_000]);
        move || {
            let (owner, raw_next, payload) = (owner.clone(), raw_next.clone(), payload.clone());
            async move {
                let day = today + chrono::Duration::days(raw_next.fetch_add(1, Ordering::Relaxed));
                for meal in MEALS {
                    let mut tx = owner.begin().await?;
                    sqlx::query(
                        "INSERT INTO nutrition.meal_rounds (tenant_id, facility_id, day, meal, \
                         sent_at) VALUES ($1, $2, $3, $4, now())",
                    )
                    .bind(tenant)
                    .bind(facility_id)
                    .bind(day)
                    .bind(meal.as_db())
                    .execute(&mut *tx)
                    .await?;
                    let orders: Vec<(Uuid,)> = sqlx::query_as(
                        "INSERT INTO nutrition.meal_orders (tenant_id, id, facility_id, \
                         department_id, day, meal, cutoff_at, serve_at, status, sent_at) \
                         SELECT DISTINCT ON (department_id) $1, gen_random_uuid(), $2, \
                                department_id, $3, $4, now(), now(), 'sent', now() \
                         FROM nutrition.stays WHERE tenant_id = $1 AND facility_id = $2 \
                           AND start_at <= now() AND (end_at IS NULL OR end_at > now()) \
                         RETURNING id",
                    )
                    .bind(tenant)
                    .bind(facility_id)
                    .bind(day)
                    .bind(meal.as_db())
                    .fetch_all(&mut *tx)
                    .await?;
                    sqlx::query(
                        "INSERT INTO nutrition.meal_order_lines (tenant_id, id, meal_order_id, \
                         kind, patient_id, admission_id, bed_id, diet_id, portions, amendment, \
                         created_at) \
                         SELECT $1, gen_random_uuid(), o.id, 'patient', s.patient_id, \
                                s.admission_id, s.bed_id, coalesce(d.diet_id, $5), 1, false, now() \
                         FROM nutrition.stays s \
                         JOIN nutrition.meal_orders o ON o.tenant_id = s.tenant_id \
                           AND o.department_id = s.department_id AND o.day = $3 AND o.meal = $4 \
                         LEFT JOIN LATERAL (SELECT diet_id FROM nutrition.diet_orders x \
                           WHERE x.tenant_id = s.tenant_id AND x.patient_id = s.patient_id \
                             AND x.start_at <= now() AND (x.end_at IS NULL OR x.end_at > now()) \
                           ORDER BY (x.source = 'operation') DESC, x.start_at DESC LIMIT 1) d \
                           ON true \
                         WHERE s.tenant_id = $1 AND s.facility_id = $2 AND s.start_at <= now() \
                           AND (s.end_at IS NULL OR s.end_at > now())",
                    )
                    .bind(tenant)
                    .bind(facility_id)
                    .bind(day)
                    .bind(meal.as_db())
                    .bind(general)
                    .execute(&mut *tx)
                    .await?;
                    for (order,) in &orders {
                        sqlx::query(
                            "INSERT INTO nutrition.outbox (tenant_id, event_id, event_type, \
                             aggregate_id, payload, occurred_at) VALUES ($1, $2, \
                             'openhmis.nutrition.v1.MealOrderSent', $3, $4, now())",
                        )
                        .bind(tenant)
                        .bind(Uuid::now_v7())
                        .bind(order.to_string())
                        .bind(&payload)
                        .execute(&mut *tx)
                        .await?;
                    }
                    tx.commit().await?;
                }
                Ok(())
            }
        }
    };
    let raw_send_sample = measure(
        "raw PostgreSQL: the same rounds, orders, lines, events",
        iterations,
        raw_send,
    )
    .await?;
    let raw_at = Arc::new(AtomicI64::new(0));
    let raw_sheet = {
        let (owner, days, raw_at) = (owner.clone(), days.clone(), raw_at.clone());
        move || {
            let owner = owner.clone();
            let n = usize::try_from(raw_at.fetch_add(1, Ordering::Relaxed)).unwrap_or(0);
            let day = days[n % days.len()];
            async move {
                let rows = sqlx::query(
                    "SELECT ri.item_id, sum(ri.quantity * p.portions) FROM ( \
                       SELECT o.meal, l.diet_id, sum(l.portions) AS portions \
                       FROM nutrition.meal_orders o JOIN nutrition.meal_order_lines l \
                         ON l.tenant_id = o.tenant_id AND l.meal_order_id = o.id \
                       WHERE o.tenant_id = $1 AND o.facility_id = $2 AND o.day = $3 \
                       GROUP BY o.meal, l.diet_id) p \
                     JOIN nutrition.menu_courses m ON m.tenant_id = $1 AND m.facility_id = $2 \
                       AND m.cycle_day = 1 AND m.meal = p.meal AND m.diet_id = p.diet_id \
                     JOIN nutrition.recipe_ingredients ri ON ri.tenant_id = $1 \
                       AND ri.recipe_id = m.recipe_id \
                     GROUP BY ri.item_id",
                )
                .bind(tenant)
                .bind(facility_id)
                .bind(day)
                .fetch_all(&owner)
                .await?;
                anyhow::ensure!(!rows.is_empty(), "the sheet's ingredients");
                Ok(())
            }
        }
    };
    let raw_sheet_sample = measure(
        "raw PostgreSQL: the sheet's aggregate (no allergen checks)",
        iterations,
        raw_sheet,
    )
    .await?;
    println!();
    println!("nutrition: {PATIENTS} patients in {WARDS} wards, 3 meals, 2 diets on the menu");
    print(&[send_sample, raw_send_sample, sheet_sample, raw_sheet_sample]);
    bench.stop().await
}

fn bench_tenant(tenant: Uuid) -> hmis_platform::TenantId {
    hmis_platform::TenantId::new(tenant)
}
