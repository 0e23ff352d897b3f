//! Nutrition over real gRPC, on a clock the test moves through one day of a hospital's
//! kitchen: patients admitted, one allergic to fish, a diabetic diet ordered, a transfer
//! before lunch's cut-off, a discharge after it, a diet changed after it, extra portions
//! ordered by a nurse; the meal orders, the trays, the production sheet, the ingredients
//! issued through the stock ledger and the day's report, each against a hand count.

use std::collections::BTreeMap;
use std::sync::Arc;

use admissions_pb::admission_service_client::AdmissionServiceClient;
use chrono::{DateTime, TimeZone, Utc};
use hmis_platform::auth::Scope;
use hmis_platform::clock::ManualClock;
use hmis_proto::openhmis::admissions::v1 as admissions_pb;
use hmis_proto::openhmis::billing::v1 as billing_pb;
use hmis_proto::openhmis::core::v1 as core_pb;
use hmis_proto::openhmis::inventory::v1 as inventory_pb;
use hmis_proto::openhmis::nutrition::v1 as pb;
use hmis_proto::openhmis::patients::v1 as patients_pb;
use inventory_pb::inventory_service_client::InventoryServiceClient;
use pb::nutrition_service_client::NutritionServiceClient;
use support::{Session, TestApp, WardSpec, eventually, signed_in, violated_fields};
use tonic::Code;
use tonic::transport::Channel;

use crate::support;

fn request_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// 2027-03-01 at `hh:mm` in Chisinau (two hours ahead of UTC in March before the 28th).
fn local(hh: u32, mm: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, hh - 2, mm, 0)
        .single()
        .expect("time")
}

const DAY: &str = "2027-03-01";

fn nutrition(app: &TestApp) -> NutritionServiceClient<Channel> {
    NutritionServiceClient::new(app.channel.clone())
}

fn admissions(app: &TestApp) -> AdmissionServiceClient<Channel> {
    AdmissionServiceClient::new(app.channel.clone())
}

/// A food item of the inventory: code, name, unit, allergens, unit of issue, unit cost.
type Food = (
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
    &'static str,
    &'static str,
);

const FOODS: &[Food] = &[
    ("OATS", "Rolled oats", "kg", &["gluten"], "0.5", "20"),
    ("MILK", "Milk 2.5%", "l", &["milk"], "1", "15"),
    ("EGGS", "Eggs", "piece", &["eggs"], "10", "2"),
    ("BREAD", "Wheat bread", "kg", &["gluten"], "0.5", "10"),
    ("CHICKEN", "Chicken breast", "kg", &[], "0.5", "80"),
    ("RICE", "Rice", "kg", &[], "1", "25"),
    ("APPLE", "Apples", "piece", &[], "1", "3"),
    ("FISH", "Hake fillet", "kg", &["fish"], "0.5", "120"),
];

/// A recipe: code, course, kcal per portion, ingredients per portion.
type Dish = (
    &'static str,
    pb::Course,
    i32,
    &'static [(&'static str, &'static str)],
);

const RECIPES: &[Dish] = &[
    (
        "PORRIDGE",
        pb::Course::Main,
        300,
        &[("OATS", "0.06"), ("MILK", "0.2")],
    ),
    (
        "OMELETTE",
        pb::Course::Main,
        250,
        &[("EGGS", "2"), ("MILK", "0.05")],
    ),
    ("BREAD", pb::Course::Bread, 250, &[("BREAD", "0.1")]),
    ("FISH", pb::Course::Main, 300, &[("FISH", "0.15")]),
    ("CHICKEN", pb::Course::Main, 350, &[("CHICKEN", "0.15")]),
    ("RICE", pb::Course::Side, 250, &[("RICE", "0.07")]),
    ("APPLE", pb::Course::Dessert, 80, &[("APPLE", "1")]),
];

/// A facility with an internal-medicine and a surgical ward, its kitchen with a food
/// warehouse stocked with ten of everything, diets T15 (general), T9 (diabetic) and NBM,
/// breakfast (cut-off 06:00, served 08:00), lunch (10:00, 13:00) and dinner (15:00, 18:00),
/// and day 1 of a 14-day cycle menu; the clock at 05:00 on 2027-03-01.
struct Hospital {
    app: TestApp,
    clock: Arc<ManualClock>,
    desk: Session,
    doctor: Session,
    nurse: Session,
    dietitian: Session,
    cook: Session,
    billing: Session,
    pharmacist: Session,
    facility_id: String,
    internal: support::OpenWard,
    surgical: support::OpenWard,
    warehouse_id: String,
    diets: BTreeMap<&'static str, String>,
    items: BTreeMap<String, String>,
    recipes: BTreeMap<String, String>,
}

impl Hospital {
    async fn open(code: &str) -> Self {
        let clock = Arc::new(ManualClock::new(local(5, 0)));
        let app = TestApp::spawn_with_clock(Default::default(), clock.clone()).await;
        let admin = app.create_tenant(code).await;
        let facility = app.create_facility(&admin, "MAIN").await;
        let scope = Scope::Facility(facility.id.parse().expect("facility id"));
        let internal = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("INT", "Internal medicine").beds("R1", "Room 1", 3),
            )
            .await;
        let surgical = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::ward("SUR", "General surgery").beds("R1", "Room 1", 2),
            )
            .await;
        let kitchen = app
            .open_ward(
                &admin,
                &facility.id,
                WardSpec::department("KIT", "Kitchen", core_pb::DepartmentKind::Administrative),
            )
            .await;
        let desk = app.staff(&admin, code, "desk", "registrar", scope).await;
        let doctor = app.staff(&admin, code, "doctor", "physician", scope).await;
        let nurse = app.staff(&admin, code, "nurse", "nurse", scope).await;
        let dietitian = app.staff(&admin, code, "diet", "dietitian", scope).await;
        let cook = app.staff(&admin, code, "cook", "kitchen", scope).await;
        let pharmacist = app
            .staff(&admin, code, "pharmacist", "pharmacist", scope)
            .await;
        let billing = app
            .staff(&admin, code, "billing", "billing_officer", scope)
            .await;

        let mut stock = InventoryServiceClient::new(app.channel.clone());
        let warehouse_id = stock
            .create_warehouse(signed_in(
                &pharmacist,
                inventory_pb::CreateWarehouseRequest {
                    request_id: request_id(),
                    warehouse: Some(inventory_pb::Warehouse {
                        code: "FOOD".to_owned(),
                        name: "Food store".to_owned(),
                        kind: inventory_pb::WarehouseKind::Other.into(),
                        facility_id: facility.id.clone(),
                        department_id: kitchen.id.clone(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("food warehouse")
            .into_inner()
            .warehouse
            .expect("warehouse")
            .id;
        let mut items = BTreeMap::new();
        let mut receipt = Vec::new();
        for (code, name, unit, _, _, cost) in FOODS {
            let item = stock
                .create_item(signed_in(
                    &pharmacist,
                    inventory_pb::CreateItemRequest {
                        request_id: request_id(),
                        item: Some(inventory_pb::Item {
                            code: (*code).to_owned(),
                            name: (*name).to_owned(),
                            item_class: inventory_pb::ItemClass::Food.into(),
                            base_unit: (*unit).to_owned(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("food item")
                .into_inner()
                .item
                .expect("item");
            receipt.push(inventory_pb::ReceiptLine {
                item_id: item.id.clone(),
                lot_number: format!("{code}-1"),
                expiry_date: "2027-06-30".to_owned(),
                quantity: "10".to_owned(),
                unit_cost: (*cost).to_owned(),
                provenance: inventory_pb::Provenance::Purchase.into(),
                ..Default::default()
            });
            items.insert((*code).to_owned(), item.id);
        }
        stock
            .receive_stock(signed_in(
                &pharmacist,
                inventory_pb::ReceiveStockRequest {
                    request_id: request_id(),
                    warehouse_id: warehouse_id.clone(),
                    supplier: "Agro SRL".to_owned(),
                    invoice_number: "F-1".to_owned(),
                    lines: receipt,
                },
            ))
            .await
            .expect("food received");

        let mut api = nutrition(&app);
        let mut diets = BTreeMap::new();
        for (code, name, kind, kcal_min) in [
            ("T15", "Table 15 (general)", pb::DietKind::Table, 2000),
            ("T9", "Table 9 (diabetic)", pb::DietKind::Table, 0),
            ("NBM", "Nil by mouth", pb::DietKind::NilByMouth, 0),
        ] {
            let diet = api
                .create_diet(signed_in(
                    &dietitian,
                    pb::CreateDietRequest {
                        request_id: request_id(),
                        diet: Some(pb::Diet {
                            code: code.to_owned(),
                            name: name.to_owned(),
                            kind: kind.into(),
                            targets: Some(pb::NutritionalTargets {
                                energy_kcal_min: kcal_min,
                                energy_kcal_max: if code == "T9" { 1800 } else { 0 },
                                ..Default::default()
                            }),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("diet")
                .into_inner()
                .diet
                .expect("diet");
            diets.insert(code, diet.id);
        }
        let meal = |meal: pb::Meal, cutoff: &str, serve: &str| pb::MealTime {
            meal: meal.into(),
            cutoff: cutoff.to_owned(),
            serve: serve.to_owned(),
        };
        api.set_kitchen(signed_in(
            &dietitian,
            pb::SetKitchenRequest {
                request_id: request_id(),
                kitchen: Some(pb::Kitchen {
                    facility_id: facility.id.clone(),
                    warehouse_id: warehouse_id.clone(),
                    department_id: kitchen.id.clone(),
                    cycle_start: DAY.to_owned(),
                    cycle_days: 14,
                    meal_times: vec![
                        meal(pb::Meal::Breakfast, "06:00", "08:00"),
                        meal(pb::Meal::Lunch, "10:00", "13:00"),
                        meal(pb::Meal::Dinner, "15:00", "18:00"),
                    ],
                    default_diet_id: diets["T15"].clone(),
                }),
            },
        ))
        .await
        .expect("kitchen");
        for (code, _, _, allergens, step, _) in FOODS {
            api.register_ingredient(signed_in(
                &dietitian,
                pb::RegisterIngredientRequest {
                    request_id: request_id(),
                    ingredient: Some(pb::Ingredient {
                        code: (*code).to_owned(),
                        issue_step: (*step).to_owned(),
                        allergens: allergens.iter().map(|a| (*a).to_owned()).collect(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("ingredient");
        }
        let mut recipes = BTreeMap::new();
        for (code, course, kcal, ingredients) in RECIPES {
            let recipe = api
                .create_recipe(signed_in(
                    &dietitian,
                    pb::CreateRecipeRequest {
                        request_id: request_id(),
                        recipe: Some(pb::Recipe {
                            code: (*code).to_owned(),
                            name: code.to_lowercase(),
                            course: (*course).into(),
                            per_portion: Some(pb::Nutrients {
                                energy_kcal: *kcal,
                                ..Default::default()
                            }),
                            ingredients: ingredients
                                .iter()
                                .map(|(item, quantity)| pb::RecipeIngredient {
                                    item_id: items[*item].clone(),
                                    quantity: (*quantity).to_owned(),
                                })
                                .collect(),
                            ..Default::default()
                        }),
                    },
                ))
                .await
                .expect("recipe")
                .into_inner()
                .recipe
                .expect("recipe");
            recipes.insert((*code).to_owned(), recipe.id);
        }
        Self {
            app,
            clock,
            desk,
            doctor,
            nurse,
            dietitian,
            cook,
            billing,
            pharmacist,
            facility_id: facility.id,
            internal,
            surgical,
            warehouse_id,
            diets,
            items,
            recipes,
        }
    }

    /// Sets what a diet's patients are served at a meal of cycle day 1; the warnings.
    async fn menu(
        &self,
        diet: &str,
        meal: pb::Meal,
        courses: &[(pb::Course, &str, Option<&str>)],
    ) -> Vec<pb::TargetWarning> {
        nutrition(&self.app)
            .set_menu(signed_in(
                &self.cook,
                pb::SetMenuRequest {
                    request_id: request_id(),
                    facility_id: self.facility_id.clone(),
                    menu: Some(pb::MenuMeal {
                        cycle_day: 1,
                        meal: meal.into(),
                        diet_id: self.diets[diet].clone(),
                        courses: courses
                            .iter()
                            .map(|(course, recipe, substitute)| pb::MenuCourse {
                                course: (*course).into(),
                                recipe_id: self.recipes[*recipe].clone(),
                                substitute_recipe_id: substitute
                                    .map(|code| self.recipes[code].clone())
                                    .unwrap_or_default(),
                            })
                            .collect(),
                    }),
                },
            ))
            .await
            .expect("menu")
            .into_inner()
            .warnings
    }

    /// A patient registered and admitted now into `ward`'s bed: (patient, admission).
    async fn admit(&self, family: &str, ward: &support::OpenWard, bed: usize) -> (String, String) {
        let patient_id = patients_pb::patient_service_client::PatientServiceClient::new(
            self.app.channel.clone(),
        )
        .register_patient(signed_in(
            &self.desk,
            patients_pb::RegisterPatientRequest {
                request_id: request_id(),
                patient: Some(patients_pb::Patient {
                    family_name: family.to_owned(),
                    given_names: "Maria".to_owned(),
                    sex: patients_pb::Sex::Female.into(),
                    birth_date: "1950-02-11".to_owned(),
                    ..Default::default()
                }),
                confirm_new_patient: true,
            },
        ))
        .await
        .expect("register")
        .into_inner()
        .patient
        .expect("patient")
        .id;
        let admission = admissions(&self.app)
            .admit_patient(signed_in(
                &self.desk,
                admissions_pb::AdmitPatientRequest {
                    request_id: request_id(),
                    admission: Some(admissions_pb::Admission {
                        patient_id: patient_id.clone(),
                        department_id: ward.id.clone(),
                        bed_id: ward.beds[bed].clone(),
                        r#type: admissions_pb::AdmissionType::Emergency.into(),
                        admitting_diagnosis_code: "K35.8".to_owned(),
                        admitting_diagnosis_text: "Appendicitis".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("admit")
            .into_inner()
            .admission
            .expect("admission");
        (patient_id, admission.id)
    }

    async fn meal_order(&self, ward: &support::OpenWard, meal: pb::Meal) -> pb::MealOrder {
        nutrition(&self.app)
            .get_meal_order(signed_in(
                &self.nurse,
                pb::GetMealOrderRequest {
                    department_id: ward.id.clone(),
                    day: DAY.to_owned(),
                    meal: meal.into(),
                },
            ))
            .await
            .expect("meal order")
            .into_inner()
            .order
            .expect("order")
    }

    /// The order's portions per diet code.
    fn totals(order: &pb::MealOrder) -> BTreeMap<String, i32> {
        order
            .totals
            .iter()
            .map(|total| (total.diet_code.clone(), total.portions))
            .collect()
    }

    /// Waits until the ward's order for `meal` has `expected` portions per diet.
    async fn until_totals(
        &self,
        ward: &support::OpenWard,
        meal: pb::Meal,
        expected: &[(&str, i32)],
    ) -> pb::MealOrder {
        let expected: BTreeMap<String, i32> = expected
            .iter()
            .map(|(code, portions)| ((*code).to_owned(), *portions))
            .collect();
        eventually(
            &format!("{meal:?} order of the ward is {expected:?}"),
            || async {
                let order = self.meal_order(ward, meal).await;
                (Self::totals(&order) == expected).then_some(order)
            },
        )
        .await
    }

    /// Prices meals of the general diet at 35 and of the diabetic at 40.
    async fn price_meals(&self) {
        let mut api =
            billing_pb::billing_service_client::BillingServiceClient::new(self.app.channel.clone());
        let price_list = api
            .create_price_list(signed_in(
                &self.billing,
                billing_pb::CreatePriceListRequest {
                    request_id: request_id(),
                    name: "Tariffs 2027".to_owned(),
                    currency: "MDL".to_owned(),
                    valid_from: "2027-01-01".to_owned(),
                    valid_until: String::new(),
                },
            ))
            .await
            .expect("price list")
            .into_inner()
            .price_list
            .expect("price list");
        let meal = |code: &str, price: &str| billing_pb::Tariff {
            kind: billing_pb::TariffKind::Service.into(),
            code_system: "diet".to_owned(),
            code: code.to_owned(),
            name: format!("Meal, diet {code}"),
            price: price.to_owned(),
            unit: billing_pb::TariffUnit::Each.into(),
            service_group: "meals".to_owned(),
            ..Default::default()
        };
        api.set_tariffs(signed_in(
            &self.billing,
            billing_pb::SetTariffsRequest {
                request_id: request_id(),
                price_list_id: price_list.id,
                tariffs: vec![meal("T15", "35"), meal("T9", "40")],
            },
        ))
        .await
        .expect("meals priced");
    }

    /// The meal charges on the patient's admission account once there are `count` of them:
    /// (diet code, amount) in the order charged.
    async fn meal_charges(&self, patient_id: &str, count: usize) -> Vec<(String, f64)> {
        let api = || {
            billing_pb::billing_service_client::BillingServiceClient::new(self.app.channel.clone())
        };
        eventually(&format!("{count} meal charges"), || async {
            let accounts = api()
                .list_accounts(signed_in(
                    &self.billing,
                    billing_pb::ListAccountsRequest {
                        patient_id: patient_id.to_owned(),
                    },
                ))
                .await
                .expect("accounts")
                .into_inner()
                .accounts;
            let account = accounts.iter().find(|a| !a.admission_id.is_empty())?;
            let charges = api()
                .get_account(signed_in(
                    &self.billing,
                    billing_pb::GetAccountRequest {
                        account_id: account.id.clone(),
                        ..Default::default()
                    },
                ))
                .await
                .expect("account")
                .into_inner()
                .account
                .expect("account")
                .charges;
            let meals: Vec<(String, f64)> = charges
                .iter()
                .filter(|c| c.source == billing_pb::ChargeSource::Meal as i32)
                .map(|c| (c.code.clone(), c.amount.parse().expect("amount")))
                .collect();
            (meals.len() == count).then_some(meals)
        })
        .await
    }

    async fn send_due(&self) {
        self.app
            .nutrition
            .send_due_meal_orders()
            .await
            .expect("meal orders sent");
    }
}

#[tokio::test]
async fn a_day_of_meal_orders_trays_production_and_issues_matches_the_hand_count() {
    let h = Hospital::open("NUTDAY").await;
    use pb::Course::{Bread, Dessert, Main, Side};
    use pb::Meal::{Breakfast, Dinner, Lunch};
    // Day 1 of the cycle. Fish at lunch has a named substitute; fish at dinner has none, so
    // the first safe main dish (by code) of the diet's menu or its substitutes stands in.
    h.menu(
        "T15",
        Breakfast,
        &[(Main, "PORRIDGE", Some("OMELETTE")), (Bread, "BREAD", None)],
    )
    .await;
    h.menu(
        "T15",
        Lunch,
        &[
            (Main, "FISH", Some("CHICKEN")),
            (Side, "RICE", None),
            (Dessert, "APPLE", None),
        ],
    )
    .await;
    let warnings = h
        .menu("T15", Dinner, &[(Main, "FISH", None), (Side, "RICE", None)])
        .await;
    // 300 + 250 + 300 + 250 + 80 + 300 + 250 kcal: the general diet's 2000 are missed.
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(
        (
            warnings[0].target.as_str(),
            warnings[0].target_value,
            warnings[0].menu_value
        ),
        ("energy_kcal_min", 2000, 1730)
    );
    h.menu("T9", Breakfast, &[(Main, "OMELETTE", None)]).await;
    h.menu(
        "T9",
        Lunch,
        &[(Main, "CHICKEN", None), (Side, "RICE", None)],
    )
    .await;
    let warnings = h
        .menu(
            "T9",
            Dinner,
            &[(Main, "CHICKEN", None), (Side, "RICE", None)],
        )
        .await;
    assert!(
        warnings.is_empty(),
        "the diabetic day is within 1800 kcal: {warnings:?}"
    );

    h.price_meals().await;

    // 05:00: Ana and Beatrice in internal medicine, Cristina in surgery. Ana is allergic to
    // fish; Beatrice's diabetic diet is ordered.
    let (ana, ana_admission) = h.admit("Ana", &h.internal, 0).await;
    let (beatrice, _) = h.admit("Beatrice", &h.internal, 1).await;
    let (cristina, cristina_admission) = h.admit("Cristina", &h.surgical, 0).await;
    let mut api = nutrition(&h.app);
    api.record_restriction(signed_in(
        &h.nurse,
        pb::RecordRestrictionRequest {
            request_id: request_id(),
            restriction: Some(pb::Restriction {
                patient_id: ana.clone(),
                kind: pb::RestrictionKind::Allergy.into(),
                allergen: "fish".to_owned(),
                note: "urticaria".to_owned(),
                ..Default::default()
            }),
        },
    ))
    .await
    .expect("allergy recorded");
    let order_diet = |patient: &str, diet: &str| pb::OrderDietRequest {
        request_id: request_id(),
        order: Some(pb::DietOrder {
            patient_id: patient.to_owned(),
            diet_id: h.diets[diet].clone(),
            ..Default::default()
        }),
    };
    api.order_diet(signed_in(&h.doctor, order_diet(&beatrice, "T9")))
        .await
        .expect("diabetic diet");
    let open = h
        .until_totals(&h.internal, Breakfast, &[("T15", 1), ("T9", 1)])
        .await;
    assert_eq!(open.status(), pb::MealOrderStatus::Open);
    h.until_totals(&h.surgical, Breakfast, &[("T15", 1)]).await;

    // 06:00: breakfast goes to the kitchen.
    h.clock.set(local(6, 0));
    h.send_due().await;
    let sent = h.meal_order(&h.internal, Breakfast).await;
    assert_eq!(sent.status(), pb::MealOrderStatus::Sent);
    assert_eq!(
        Hospital::totals(&sent),
        BTreeMap::from([("T15".into(), 1), ("T9".into(), 1)])
    );

    // 09:00: Ana moves to surgery before lunch's cut-off; 09:30 Daniela arrives in internal
    // medicine; 09:45 the surgical nurse orders two extra dinners (mothers staying).
    h.clock.set(local(9, 0));
    admissions(&h.app)
        .transfer_patient(signed_in(
            &h.desk,
            admissions_pb::TransferPatientRequest {
                request_id: request_id(),
                admission_id: ana_admission.clone(),
                department_id: h.surgical.id.clone(),
                bed_id: h.surgical.beds[1].clone(),
                reason: "surgical opinion".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("transfer");
    h.clock.set(local(9, 30));
    let (daniela, _) = h.admit("Daniela", &h.internal, 2).await;
    h.clock.set(local(9, 45));
    let extra = api
        .adjust_meal_order(signed_in(
            &h.nurse,
            pb::AdjustMealOrderRequest {
                request_id: request_id(),
                department_id: h.surgical.id.clone(),
                day: DAY.to_owned(),
                meal: Dinner.into(),
                diet_id: h.diets["T15"].clone(),
                portions: 2,
                reason: "two mothers staying".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("extra dinners")
        .into_inner()
        .order
        .expect("order");
    assert_eq!(extra.status(), pb::MealOrderStatus::Open);
    h.until_totals(&h.internal, Lunch, &[("T15", 1), ("T9", 1)])
        .await;
    h.until_totals(&h.surgical, Lunch, &[("T15", 2)]).await;

    // 10:00: lunch goes: internal medicine Beatrice (T9) and Daniela (T15); surgery Ana and
    // Cristina (T15).
    h.clock.set(local(10, 0));
    h.send_due().await;
    let lunch = h.meal_order(&h.surgical, Lunch).await;
    assert_eq!(lunch.status(), pb::MealOrderStatus::Sent);
    assert_eq!(
        Hospital::totals(&lunch),
        BTreeMap::from([("T15".into(), 2)])
    );

    // 11:00: Cristina is discharged after the cut-off: an amendment takes her lunch back.
    h.clock.set(local(11, 0));
    admissions(&h.app)
        .discharge_patient(signed_in(
            &h.desk,
            admissions_pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: cristina_admission,
                r#type: admissions_pb::DischargeType::Recovered.into(),
                destination: "home".to_owned(),
                ..Default::default()
            },
        ))
        .await
        .expect("discharge");
    let lunch = h.until_totals(&h.surgical, Lunch, &[("T15", 1)]).await;
    let amendment = lunch
        .lines
        .iter()
        .find(|line| line.amendment)
        .expect("an amendment line");
    assert_eq!(
        (
            amendment.patient_id.as_str(),
            amendment.portions,
            amendment.reason.as_str()
        ),
        (cristina.as_str(), -1, "discharged")
    );

    // 11:30: Daniela's diet becomes diabetic after the cut-off: her lunch moves diet.
    h.clock.set(local(11, 30));
    api.order_diet(signed_in(&h.doctor, order_diet(&daniela, "T9")))
        .await
        .expect("diet changed");
    let internal_lunch = h.meal_order(&h.internal, Lunch).await;
    assert_eq!(
        Hospital::totals(&internal_lunch),
        BTreeMap::from([("T9".into(), 2)]),
        "the amendment is made with the order"
    );

    // 15:00: dinner goes, with the extra portions.
    h.clock.set(local(15, 0));
    h.send_due().await;
    let dinner = h.meal_order(&h.surgical, Dinner).await;
    assert_eq!(
        Hospital::totals(&dinner),
        BTreeMap::from([("T15".into(), 3)])
    );
    let dinner = h.meal_order(&h.internal, Dinner).await;
    assert_eq!(
        Hospital::totals(&dinner),
        BTreeMap::from([("T9".into(), 2)])
    );

    // Ana's lunch tray: chicken instead of fish, in room 1, bed 2 of surgery; Cristina has
    // none.
    let trays = api
        .get_distribution_list(signed_in(
            &h.nurse,
            pb::GetDistributionListRequest {
                department_id: h.surgical.id.clone(),
                day: DAY.to_owned(),
                meal: Lunch.into(),
            },
        ))
        .await
        .expect("distribution list")
        .into_inner()
        .trays;
    assert_eq!(trays.len(), 1, "{trays:?}");
    let tray = &trays[0];
    assert_eq!(
        (
            tray.patient_id.as_str(),
            tray.bed_code.as_str(),
            tray.diet_code.as_str()
        ),
        (ana.as_str(), "R1/2", "T15")
    );
    assert_eq!(tray.restrictions, vec!["fish".to_owned()]);
    let dishes: Vec<(&str, bool)> = tray
        .dishes
        .iter()
        .map(|dish| {
            (
                dish.recipe_code.as_str(),
                !dish.replaces_recipe_id.is_empty(),
            )
        })
        .collect();
    assert_eq!(
        dishes,
        vec![("CHICKEN", true), ("RICE", false), ("APPLE", false)]
    );

    // The production sheet by hand:
    //   breakfast  T15 Ana, Cristina: porridge, bread; T9 Beatrice: omelette
    //   lunch      T15 Ana: chicken (for fish), rice, apple; T9 Beatrice, Daniela: chicken, rice
    //   dinner     T15 Ana: chicken (the first safe main dish of the diet's menu), rice;
    //              2 extras: fish, rice;
    //              T9 Beatrice, Daniela: chicken, rice
    let sheet = api
        .get_production_sheet(signed_in(
            &h.cook,
            pb::GetProductionSheetRequest {
                facility_id: h.facility_id.clone(),
                day: DAY.to_owned(),
            },
        ))
        .await
        .expect("production sheet")
        .into_inner();
    assert_eq!(sheet.cycle_day, 1);
    let portions: BTreeMap<(i32, String), i32> = sheet
        .recipes
        .iter()
        .map(|r| ((r.meal, r.recipe_code.clone()), r.portions))
        .collect();
    let hand: BTreeMap<(i32, String), i32> = [
        (Breakfast, "PORRIDGE", 2),
        (Breakfast, "BREAD", 2),
        (Breakfast, "OMELETTE", 1),
        (Lunch, "CHICKEN", 3),
        (Lunch, "RICE", 3),
        (Lunch, "APPLE", 1),
        (Dinner, "FISH", 2),
        (Dinner, "CHICKEN", 3),
        (Dinner, "RICE", 5),
    ]
    .into_iter()
    .map(|(meal, code, n)| ((meal as i32, code.to_owned()), n))
    .collect();
    assert_eq!(portions, hand);
    // Ingredients = portions x recipe, then up to the unit of issue:
    //   oats 2 x 0.06 = 0.12 -> 0.5; milk 2 x 0.2 + 1 x 0.05 = 0.45 -> 1; eggs 1 x 2 = 2 -> 10;
    //   bread 2 x 0.1 = 0.2 -> 0.5; chicken 6 x 0.15 = 0.9 -> 1; rice 8 x 0.07 = 0.56 -> 1;
    //   apples 1 -> 1; fish 2 x 0.15 = 0.3 -> 0.5.
    let needs: BTreeMap<&str, (&str, &str)> = sheet
        .ingredients
        .iter()
        .map(|i| (i.code.as_str(), (i.required.as_str(), i.issued.as_str())))
        .collect();
    let hand_needs = BTreeMap::from([
        ("APPLE", ("1", "1")),
        ("BREAD", ("0.2", "0.5")),
        ("CHICKEN", ("0.9", "1")),
        ("EGGS", ("2", "10")),
        ("FISH", ("0.3", "0.5")),
        ("MILK", ("0.45", "1")),
        ("OATS", ("0.12", "0.5")),
        ("RICE", ("0.56", "1")),
    ]);
    assert_eq!(needs, hand_needs);

    // The ingredients leave the food store through the ledger, once.
    let issued = api
        .issue_ingredients(signed_in(
            &h.cook,
            pb::IssueIngredientsRequest {
                request_id: request_id(),
                facility_id: h.facility_id.clone(),
                day: DAY.to_owned(),
            },
        ))
        .await
        .expect("ingredients issued")
        .into_inner();
    assert_eq!(issued.movement_ids.len(), 8);
    let again = api
        .issue_ingredients(signed_in(
            &h.cook,
            pb::IssueIngredientsRequest {
                request_id: request_id(),
                facility_id: h.facility_id.clone(),
                day: DAY.to_owned(),
            },
        ))
        .await
        .expect_err("a day is issued once");
    assert_eq!(again.code(), Code::FailedPrecondition);
    let stock = InventoryServiceClient::new(h.app.channel.clone())
        .get_stock(signed_in(
            &h.cook,
            inventory_pb::GetStockRequest {
                warehouse_id: h.warehouse_id.clone(),
                item_id: String::new(),
            },
        ))
        .await
        .expect("stock")
        .into_inner()
        .lines;
    let left: BTreeMap<String, f64> = stock
        .iter()
        .map(|line| {
            let lot = line.lot.clone().expect("lot");
            let code = h
                .items
                .iter()
                .find(|(_, id)| **id == lot.item_id)
                .map(|(code, _)| code.clone())
                .expect("a food item");
            (code, line.quantity.parse::<f64>().expect("quantity"))
        })
        .collect();
    for (code, (_, issued)) in &hand_needs {
        let issued: f64 = issued.parse().expect("issued");
        // A lot used up is no longer in stock (the eggs: a tray of ten).
        let in_stock = left.get(*code).copied().unwrap_or(0.0);
        assert_eq!(in_stock, 10.0 - issued, "{code} left in the food store");
    }

    // Billing charged each patient's meals at its diet's price: Daniela's lunch as T15 when it
    // was sent, taken back when her diet changed, charged again as T9; her dinner as T9.
    let daniela_meals = h.meal_charges(&daniela, 4).await;
    assert_eq!(
        daniela_meals,
        vec![
            ("T15".to_owned(), 35.0),
            ("T15".to_owned(), -35.0),
            ("T9".to_owned(), 40.0),
            ("T9".to_owned(), 40.0),
        ]
    );
    let cristina_meals = h.meal_charges(&cristina, 3).await;
    let net: f64 = cristina_meals.iter().map(|(_, amount)| amount).sum();
    assert_eq!(
        net, 35.0,
        "her breakfast; her lunch taken back: {cristina_meals:?}"
    );

    // The day's report: portions per ward and diet, patients fed, cost per patient-day.
    let report = api
        .get_nutrition_report(signed_in(
            &h.dietitian,
            pb::GetNutritionReportRequest {
                facility_id: h.facility_id.clone(),
                from_day: DAY.to_owned(),
                to_day: DAY.to_owned(),
            },
        ))
        .await
        .expect("report")
        .into_inner();
    let per_ward: BTreeMap<(String, String), i32> = report
        .portions
        .iter()
        .map(|p| ((p.department_id.clone(), p.diet_code.clone()), p.portions))
        .collect();
    // Internal medicine: T15 Ana's breakfast (Daniela's lunch moved to T9); T9 Beatrice 3
    // meals and Daniela lunch and dinner. Surgery: T15 Cristina's breakfast, Ana's lunch,
    // Ana's dinner and two extras.
    assert_eq!(
        per_ward,
        BTreeMap::from([
            ((h.internal.id.clone(), "T15".to_owned()), 1),
            ((h.internal.id.clone(), "T9".to_owned()), 5),
            ((h.surgical.id.clone(), "T15".to_owned()), 5),
        ])
    );
    assert_eq!(report.patient_days, 4);
    // 0.5 x 20 + 1 x 15 + 10 x 2 + 0.5 x 10 + 1 x 80 + 1 x 25 + 1 x 3 + 0.5 x 120 = 218
    assert_eq!(report.total_cost, "218");
    assert_eq!(report.cost_per_patient_day, "54.5");
}

#[tokio::test]
async fn wrong_input_is_named_and_a_served_meal_no_longer_changes() {
    let h = Hospital::open("NUTBAD").await;
    let mut api = nutrition(&h.app);
    let status = api
        .create_diet(signed_in(
            &h.dietitian,
            pb::CreateDietRequest {
                request_id: request_id(),
                diet: Some(pb::Diet {
                    code: "no spaces allowed".to_owned(),
                    kind: 99,
                    targets: Some(pb::NutritionalTargets {
                        energy_kcal_min: 2000,
                        energy_kcal_max: 1500,
                        ..Default::default()
                    }),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("a bad diet");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        violated_fields(&status),
        vec![
            "diet.code",
            "diet.name",
            "diet.kind",
            "diet.targets.energy_kcal_max"
        ]
    );
    let status = api
        .record_restriction(signed_in(
            &h.nurse,
            pb::RecordRestrictionRequest {
                request_id: request_id(),
                restriction: Some(pb::Restriction {
                    patient_id: uuid::Uuid::new_v4().to_string(),
                    kind: pb::RestrictionKind::Allergy.into(),
                    allergen: "kryptonite".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("an unknown allergen");
    assert_eq!(violated_fields(&status), vec!["restriction.allergen"]);
    let adjust = |portions: i32| pb::AdjustMealOrderRequest {
        request_id: request_id(),
        department_id: h.internal.id.clone(),
        day: DAY.to_owned(),
        meal: pb::Meal::Breakfast.into(),
        diet_id: h.diets["T15"].clone(),
        portions,
        reason: "visitors".to_owned(),
        ..Default::default()
    };
    let status = api
        .adjust_meal_order(signed_in(&h.nurse, adjust(0)))
        .await
        .expect_err("no portions");
    assert_eq!(violated_fields(&status), vec!["portions"]);
    let status = api
        .adjust_meal_order(signed_in(&h.nurse, adjust(-1)))
        .await
        .expect_err("nothing to take back");
    assert_eq!(violated_fields(&status), vec!["portions"]);
    h.clock.set(local(8, 30));
    let status = api
        .adjust_meal_order(signed_in(&h.nurse, adjust(1)))
        .await
        .expect_err("breakfast was served at 08:00");
    assert_eq!(status.code(), Code::FailedPrecondition);
    let status = api
        .issue_ingredients(signed_in(
            &h.nurse,
            pb::IssueIngredientsRequest {
                request_id: request_id(),
                facility_id: h.facility_id.clone(),
                day: DAY.to_owned(),
            },
        ))
        .await
        .expect_err("a nurse does not run the kitchen");
    assert_eq!(status.code(), Code::PermissionDenied);
}

#[tokio::test]
async fn a_food_allergy_of_the_medical_record_becomes_the_kitchens_restriction() {
    let h = Hospital::open("NUTALG").await;
    let (patient_id, admission_id) = h.admit("Elena", &h.internal, 0).await;
    let mut records =
        hmis_proto::openhmis::encounters::v1::encounter_service_client::EncounterServiceClient::new(
            h.app.channel.clone(),
        );
    use hmis_proto::openhmis::encounters::v1 as encounters_pb;
    records
        .open_encounter(signed_in(
            &h.doctor,
            encounters_pb::OpenEncounterRequest {
                request_id: request_id(),
                admission_id,
                ..Default::default()
            },
        ))
        .await
        .expect("encounter");
    for (category, substance) in [
        (encounters_pb::AllergyCategory::Food, "Peanut butter"),
        (encounters_pb::AllergyCategory::Food, "strawberries"),
        (encounters_pb::AllergyCategory::Environment, "Birch pollen"),
    ] {
        records
            .record_allergy(signed_in(
                &h.doctor,
                encounters_pb::RecordAllergyRequest {
                    request_id: request_id(),
                    allergy: Some(encounters_pb::Allergy {
                        patient_id: patient_id.clone(),
                        category: category.into(),
                        kind: encounters_pb::ReactionKind::Allergy.into(),
                        substance_text: substance.to_owned(),
                        severity: encounters_pb::ReactionSeverity::Severe.into(),
                        reaction: "anaphylaxis".to_owned(),
                        ..Default::default()
                    }),
                },
            ))
            .await
            .expect("allergy recorded");
    }
    // Peanuts are on the kitchen's list; strawberries are not an allergen it declares, and
    // pollen is no food.
    let restrictions = eventually("the kitchen knows the peanut allergy", || async {
        let found = nutrition(&h.app)
            .list_restrictions(signed_in(
                &h.nurse,
                pb::ListRestrictionsRequest {
                    patient_id: patient_id.clone(),
                },
            ))
            .await
            .expect("restrictions")
            .into_inner()
            .restrictions;
        (!found.is_empty()).then_some(found)
    })
    .await;
    let allergens: Vec<&str> = restrictions.iter().map(|r| r.allergen.as_str()).collect();
    assert_eq!(allergens, vec!["peanuts"]);
    assert_eq!(restrictions[0].kind(), pb::RestrictionKind::Allergy);
    // Recorded again by the ward, it is one restriction still.
    let again = nutrition(&h.app)
        .record_restriction(signed_in(
            &h.nurse,
            pb::RecordRestrictionRequest {
                request_id: request_id(),
                restriction: Some(pb::Restriction {
                    patient_id: patient_id.clone(),
                    kind: pb::RestrictionKind::Allergy.into(),
                    allergen: "peanuts".to_owned(),
                    ..Default::default()
                }),
            },
        ))
        .await
        .expect_err("one restriction per allergen");
    assert_eq!(again.code(), Code::AlreadyExists);
}

#[tokio::test]
async fn an_operation_booked_puts_the_patient_nil_by_mouth_until_it_ends() {
    use hmis_proto::openhmis::surgery::v1 as surgery_pb;
    let block = crate::surgery::Block::open(1).await;
    let admission = block.admitted("Florea", 0).await;
    block.known(&admission).await;
    let mut api = nutrition(&block.app);
    let diet = |code: &str, kind: pb::DietKind| pb::CreateDietRequest {
        request_id: request_id(),
        diet: Some(pb::Diet {
            code: code.to_owned(),
            name: format!("Diet {code}"),
            kind: kind.into(),
            ..Default::default()
        }),
    };
    let general = api
        .create_diet(signed_in(&block.admin, diet("T15", pb::DietKind::Table)))
        .await
        .expect("general diet")
        .into_inner()
        .diet
        .expect("diet");
    let fasting = api
        .create_diet(signed_in(
            &block.admin,
            diet("NBM", pb::DietKind::NilByMouth),
        ))
        .await
        .expect("nil by mouth")
        .into_inner()
        .diet
        .expect("diet");
    assert_ne!(general.id, fasting.id);
    // Two days from now, on the hour, for an hour (ahead of the real clock, so cancelling it
    // lifts a fast that has not begun).
    let start = (chrono::Utc::now().timestamp() / 3600 + 48) * 3600;
    let booked = block
        .book(block.booking(
            0,
            &admission.patient_id,
            0,
            prost_types::Timestamp {
                seconds: start,
                nanos: 0,
            },
        ))
        .await
        .expect("booked")
        .operation
        .expect("operation");
    let orders = || async {
        nutrition(&block.app)
            .list_diet_orders(signed_in(
                &block.admin,
                pb::ListDietOrdersRequest {
                    patient_id: admission.patient_id.clone(),
                },
            ))
            .await
            .expect("diet orders")
            .into_inner()
            .orders
    };
    let fast = eventually("the patient is nil by mouth for the operation", || async {
        orders().await.into_iter().next()
    })
    .await;
    assert_eq!(fast.source(), pb::DietOrderSource::Operation);
    assert_eq!(fast.diet_id, fasting.id);
    assert_eq!(fast.operation_id, booked.id);
    // From six hours before the operation until its planned end.
    assert_eq!(fast.start_time.map(|t| t.seconds), Some(start - 6 * 3600));
    assert_eq!(fast.end_time.map(|t| t.seconds), Some(start + 3600));
    block
        .surgery()
        .cancel_operation(signed_in(
            &block.coordinator,
            surgery_pb::CancelOperationRequest {
                request_id: request_id(),
                operation_id: booked.id.clone(),
                reason: "patient unfit for anaesthesia".to_owned(),
                etag: booked.etag.clone(),
            },
        ))
        .await
        .expect("cancelled");
    eventually("a cancelled operation's fast is lifted", || async {
        orders().await.is_empty().then_some(())
    })
    .await;
}

#[tokio::test]
async fn discharges_racing_the_cut_off_are_never_lost_from_the_meal_order() {
    let h = Hospital::open("NUTRACE").await;
    // Twelve patients in internal medicine's three beds and surgery's two would not fit:
    // the wards here are small, so the race is on the five beds there are.
    let mut admitted = Vec::new();
    for (ward, bed) in [
        (&h.internal, 0),
        (&h.internal, 1),
        (&h.internal, 2),
        (&h.surgical, 0),
        (&h.surgical, 1),
    ] {
        admitted.push(h.admit(&format!("Race{bed}"), ward, bed).await);
    }
    h.until_totals(&h.internal, pb::Meal::Breakfast, &[("T15", 3)])
        .await;
    h.until_totals(&h.surgical, pb::Meal::Breakfast, &[("T15", 2)])
        .await;
    // 06:00: three discharges and the cut-off at once.
    h.clock.set(local(6, 0));
    let discharges = admitted[..3].iter().map(|(_, admission)| {
        let mut api = admissions(&h.app);
        let request = signed_in(
            &h.desk,
            admissions_pb::DischargePatientRequest {
                request_id: request_id(),
                admission_id: admission.clone(),
                r#type: admissions_pb::DischargeType::Recovered.into(),
                destination: "home".to_owned(),
                ..Default::default()
            },
        );
        async move { api.discharge_patient(request).await.map(|_| ()) }
    });
    let (discharged, ()) = tokio::join!(futures::future::join_all(discharges), h.send_due());
    assert!(discharged.iter().all(Result::is_ok), "{discharged:?}");
    // Whichever came first, the sent order ends with nobody of internal medicine fed.
    let order = h.until_totals(&h.internal, pb::Meal::Breakfast, &[]).await;
    assert_eq!(order.status(), pb::MealOrderStatus::Sent);
    let surgical = h.meal_order(&h.surgical, pb::Meal::Breakfast).await;
    assert_eq!(
        Hospital::totals(&surgical),
        BTreeMap::from([("T15".into(), 2)])
    );
}

#[tokio::test]
async fn an_issue_refused_by_the_ledger_is_asked_again_the_same_after_a_delivery() {
    let h = Hospital::open("NUTISS").await;
    use pb::Course::Main;
    h.menu("T15", pb::Meal::Breakfast, &[(Main, "OMELETTE", None)])
        .await;
    h.admit("Ileana", &h.internal, 0).await;
    h.admit("Irina", &h.internal, 1).await;
    h.until_totals(&h.internal, pb::Meal::Breakfast, &[("T15", 2)])
        .await;
    let mut api = nutrition(&h.app);
    let issue = || pb::IssueIngredientsRequest {
        request_id: request_id(),
        facility_id: h.facility_id.clone(),
        day: DAY.to_owned(),
    };
    // Two omelettes take four eggs, issued by the tray of ten: ten eggs; the store has ten,
    // until a writing-off leaves it short.
    let eggs = h.items["EGGS"].clone();
    let mut stock = InventoryServiceClient::new(h.app.channel.clone());
    let lot = stock
        .get_stock(signed_in(
            &h.pharmacist,
            inventory_pb::GetStockRequest {
                warehouse_id: h.warehouse_id.clone(),
                item_id: eggs.clone(),
            },
        ))
        .await
        .expect("stock")
        .into_inner()
        .lines[0]
        .lot
        .clone()
        .expect("lot");
    stock
        .write_off_stock(signed_in(
            &h.pharmacist,
            inventory_pb::WriteOffStockRequest {
                request_id: request_id(),
                warehouse_id: h.warehouse_id.clone(),
                lot_id: lot.id.clone(),
                quantity: "5".to_owned(),
                reason: inventory_pb::WriteOffReason::Broken.into(),
                document_id: "WO-1".to_owned(),
                note: "dropped".to_owned(),
            },
        ))
        .await
        .expect("five eggs broken");
    let short = api
        .issue_ingredients(signed_in(&h.cook, issue()))
        .await
        .expect_err("five eggs are not ten");
    assert_eq!(short.code(), Code::FailedPrecondition, "{short:?}");
    // A third patient comes and eggs are delivered; the issue is asked again (the one kept
    // when it was first asked: what a stop after the ledger moved it needs) and goes through.
    h.admit("Ioana", &h.internal, 2).await;
    h.until_totals(&h.internal, pb::Meal::Breakfast, &[("T15", 3)])
        .await;
    stock
        .receive_stock(signed_in(
            &h.pharmacist,
            inventory_pb::ReceiveStockRequest {
                request_id: request_id(),
                warehouse_id: h.warehouse_id.clone(),
                supplier: "Agro SRL".to_owned(),
                invoice_number: "F-2".to_owned(),
                lines: vec![inventory_pb::ReceiptLine {
                    item_id: eggs.clone(),
                    lot_number: "EGGS-2".to_owned(),
                    expiry_date: "2027-04-30".to_owned(),
                    quantity: "30".to_owned(),
                    unit_cost: "2".to_owned(),
                    provenance: inventory_pb::Provenance::Purchase.into(),
                    ..Default::default()
                }],
            },
        ))
        .await
        .expect("eggs delivered");
    let issued = api
        .issue_ingredients(signed_in(&h.cook, issue()))
        .await
        .expect("issued after the delivery")
        .into_inner();
    assert!(!issued.movement_ids.is_empty());
    let left: f64 = stock
        .get_stock(signed_in(
            &h.pharmacist,
            inventory_pb::GetStockRequest {
                warehouse_id: h.warehouse_id.clone(),
                item_id: eggs,
            },
        ))
        .await
        .expect("stock")
        .into_inner()
        .lines
        .iter()
        .map(|line| line.quantity.parse::<f64>().expect("quantity"))
        .sum();
    assert_eq!(left, 5.0 + 30.0 - 10.0, "one tray of ten issued, once");
    let sheet = api
        .get_production_sheet(signed_in(
            &h.cook,
            pb::GetProductionSheetRequest {
                facility_id: h.facility_id.clone(),
                day: DAY.to_owned(),
            },
        ))
        .await
        .expect("sheet")
        .into_inner();
    assert!(sheet.issue_time.is_some());
}
