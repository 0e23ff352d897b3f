//! The wards' meal orders: read as they stand, adjusted by the ward's nurse (before the
//! cut-off a change of the order, after it an amendment), sent at each meal's cut-off, and
//! the distribution list of trays with their labels.

use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::events::nutrition::{MEAL_ORDER_AMENDED, MEAL_ORDER_SENT};
use hmis_proto::openhmis::nutrition::v1 as pb;

use super::catalogue::diet_named;
use super::*;
use crate::convert::{OrderHead, course_to_pb, line_to_pb, meal_order};
use crate::domain::{DietKind, cycle_day};
use crate::store::MealKey;

/// A ward's meal, as GetMealOrder and GetDistributionList name it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MealQuery {
    pub(crate) department_id: Uuid,
    pub(crate) day: NaiveDate,
    pub(crate) meal: Meal,
}

/// What an AdjustMealOrder call asks for, parsed.
#[derive(Debug)]
pub(crate) struct Adjustment {
    pub(crate) key: RequestKey,
    pub(crate) ward: MealQuery,
    pub(crate) patient_id: Option<Uuid>,
    pub(crate) diet_id: Option<Uuid>,
    pub(crate) portions: i32,
    pub(crate) reason: String,
}

/// The ward's part of a meal view (empty when nobody is in the ward).
fn ward_part(view: MealView, department_id: Uuid) -> WardMeal {
    view.wards
        .into_iter()
        .find(|ward| ward.department_id == department_id)
        .unwrap_or(WardMeal {
            department_id,
            order: None,
            lines: Vec::new(),
        })
}

fn head_of(kitchen: &KitchenRow, query: &MealQuery, view: &MealView, ward: &WardMeal) -> OrderHead {
    let sent_order = ward.order.as_ref().filter(|order| is_sent(order));
    OrderHead {
        department_id: query.department_id,
        facility_id: kitchen.facility_id,
        day: query.day,
        meal: query.meal,
        sent: view.sent || sent_order.is_some(),
        cutoff_at: view.cutoff_at,
        sent_at: sent_order.and_then(|order| order.sent_at),
    }
}

/// Who the lines name.
fn patients_of(lines: &[LineRow]) -> Vec<Uuid> {
    let named: BTreeSet<Uuid> = lines.iter().filter_map(|line| line.patient_id).collect();
    named.into_iter().collect()
}

/// The kitchen of a ward's facility and the time of the meal asked for.
async fn meal_of(
    tx: &mut TenantTx,
    facility_id: Uuid,
    meal: Meal,
) -> Result<(KitchenRow, MealTimeRow)> {
    let kitchen = kitchen_of(tx, facility_id, "department_id").await?;
    let time = meal_time_of(tx, facility_id, meal, "meal").await?;
    Ok((kitchen, time))
}

/// The ward's meal asked for, as it stands at `now`.
async fn ward_view(
    tx: &mut TenantTx,
    kitchen: &KitchenRow,
    (query, time): (&MealQuery, &MealTimeRow),
    now: DateTime<Utc>,
) -> Result<MealView> {
    meal_view(
        tx,
        kitchen,
        (query.day, time),
        Some(query.department_id),
        now,
    )
    .await
}

impl Nutrition {
    /// The ward a query names, once the caller may act there with `permission`.
    async fn ward(
        &self,
        context: &RequestContext,
        query: &MealQuery,
        permission: &str,
    ) -> Result<crate::directory::Department> {
        let ward = (self.directory)
            .department(context, query.department_id, "department_id")
            .await?;
        context.authorize(
            permission,
            &Target::department(ward.facility_id, query.department_id),
        )?;
        Ok(ward)
    }

    pub(crate) async fn get_meal_order(
        &self,
        context: &RequestContext,
        query: MealQuery,
    ) -> Result<pb::GetMealOrderResponse> {
        let ward = self.ward(context, &query, READ).await?;
        let now = self.calls.now();
        self.calls
            .transaction(context, async |tx| {
                let (kitchen, time) = meal_of(tx, ward.facility_id, query.meal).await?;
                let view = ward_view(tx, &kitchen, (&query, &time), now).await?;
                let head_view = view.clone();
                let part = ward_part(view, query.department_id);
                let head = head_of(&kitchen, &query, &head_view, &part);
                let codes = store::diet_codes(tx).await?;
                record(tx, context, &patients_of(&part.lines), now).await?;
                Ok(pb::GetMealOrderResponse {
                    order: Some(meal_order(&head, &part.lines, &codes)),
                })
            })
            .await
    }

    pub(crate) async fn adjust_meal_order(
        &self,
        context: &RequestContext,
        message: &pb::AdjustMealOrderRequest,
        adjustment: Adjustment,
    ) -> Result<pb::AdjustMealOrderResponse> {
        let method = method("AdjustMealOrder");
        if let Some(replayed) = (self.calls)
            .replay(context, &method, &adjustment.key, message)
            .await?
        {
            return Ok(replayed);
        }
        let query = adjustment.ward;
        let ward = self.ward(context, &query, ORDER).await?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &adjustment.key, message, async |tx| {
                let (kitchen, time) = meal_of(tx, ward.facility_id, query.meal).await?;
                let (cutoff_at, serve_at) = instants(&kitchen.zone()?, query.day, &time);
                if now >= serve_at {
                    return Err(Error::precondition(
                        "the meal was served; its order can no longer change",
                    ));
                }
                let late = now >= cutoff_at;
                if late {
                    self.send_round(tx, &kitchen, (query.day, &time), now)
                        .await?;
                }
                let view = ward_view(tx, &kitchen, (&query, &time), now).await?;
                let part = ward_part(view, query.department_id);
                let (diet_id, patient_line) = match adjustment.patient_id {
                    Some(patient_id) => {
                        let line = part
                            .lines
                            .iter()
                            .rev()
                            .find(|line| {
                                line.patient_id == Some(patient_id)
                                    && line.kind == LineKind::Patient
                                    && line.portions > 0
                            })
                            .cloned()
                            .ok_or_else(|| {
                                Error::invalid("patient_id", "is not on the ward's meal order")
                            })?;
                        if adjustment.diet_id.is_some_and(|diet| diet != line.diet_id) {
                            return Err(Error::invalid(
                                "diet_id",
                                "is not the patient's diet on the order (leave it empty)",
                            ));
                        }
                        let net: i32 = (part.lines.iter())
                            .filter(|other| other.patient_id == Some(patient_id))
                            .map(|other| other.portions)
                            .sum();
                        if net + adjustment.portions < 0 {
                            return Err(Error::invalid(
                                "portions",
                                "would take away more than the patient has",
                            ));
                        }
                        (line.diet_id, Some(line))
                    }
                    None => {
                        let Some(diet_id) = adjustment.diet_id else {
                            return Err(Error::invalid(
                                "diet_id",
                                "is required for extra portions",
                            ));
                        };
                        diet_named(tx, diet_id, "diet_id").await?;
                        let extra: i32 = (part.lines.iter())
                            .filter(|line| line.patient_id.is_none() && line.diet_id == diet_id)
                            .map(|line| line.portions)
                            .sum();
                        if extra + adjustment.portions < 0 {
                            return Err(Error::invalid(
                                "portions",
                                "would take away more extra portions than were ordered",
                            ));
                        }
                        (diet_id, None)
                    }
                };
                let order = store::open_meal_order(
                    tx,
                    &MealKey {
                        facility_id: kitchen.facility_id,
                        department_id: query.department_id,
                        day: query.day,
                        meal: query.meal,
                        cutoff_at,
                        serve_at,
                    },
                )
                .await?;
                if late {
                    store::mark_sent(tx, &[order.id], now).await?;
                }
                let line = LineRow {
                    meal_order_id: order.id,
                    kind: LineKind::Adjustment,
                    patient_id: adjustment.patient_id,
                    admission_id: patient_line.as_ref().and_then(|line| line.admission_id),
                    bed_id: patient_line.as_ref().and_then(|line| line.bed_id),
                    diet_id,
                    portions: adjustment.portions,
                    amendment: late,
                    reason: adjustment.reason.clone(),
                };
                store::insert_lines(
                    tx,
                    std::slice::from_ref(&line),
                    Some(context.user_id()),
                    now,
                )
                .await?;
                let codes = store::diet_codes(tx).await?;
                let view = ward_view(tx, &kitchen, (&query, &time), now).await?;
                let head_view = view.clone();
                let part = ward_part(view, query.department_id);
                let head = head_of(&kitchen, &query, &head_view, &part);
                let answer = meal_order(&head, &part.lines, &codes);
                if late {
                    let event = pb::MealOrderAmended {
                        order: Some(answer.clone()),
                        added: vec![line_to_pb(&line, &codes)],
                    };
                    (self.outbox)
                        .publish(tx, MEAL_ORDER_AMENDED, &order.id.to_string(), &event, now)
                        .await?;
                }
                record(tx, context, &patients_of(&part.lines), now).await?;
                Ok(pb::AdjustMealOrderResponse {
                    order: Some(answer),
                })
            })
            .await
    }

    pub(crate) async fn get_distribution_list(
        &self,
        context: &RequestContext,
        query: MealQuery,
    ) -> Result<pb::GetDistributionListResponse> {
        let ward = self.ward(context, &query, READ).await?;
        let beds = self
            .directory
            .bed_codes(context, query.department_id)
            .await?;
        let now = self.calls.now();
        self.calls
            .transaction(context, async |tx| {
                let (kitchen, time) = meal_of(tx, ward.facility_id, query.meal).await?;
                let view = ward_view(tx, &kitchen, (&query, &time), now).await?;
                let part = ward_part(view, query.department_id);
                let (fed, _) = fed(&part.lines);
                let patients: Vec<Uuid> = fed.iter().map(|f| f.patient_id).collect();
                let restrictions = store::restrictions_of(tx, &patients).await?;
                let day = cycle_day(kitchen.cycle_start, kitchen.cycle_days, query.day);
                let menu = Menu::load(tx, kitchen.facility_id, day).await?;
                let diets: HashMap<Uuid, store::DietRow> = store::list_diets(tx)
                    .await?
                    .into_iter()
                    .map(|diet| (diet.id, diet))
                    .collect();
                let none = BTreeSet::new();
                let mut trays: Vec<pb::Tray> = fed
                    .iter()
                    .map(|fed| {
                        let diet = diets.get(&fed.diet_id);
                        let nil_by_mouth = diet.is_some_and(|d| d.kind == DietKind::NilByMouth);
                        let restricted = restrictions.get(&fed.patient_id).unwrap_or(&none);
                        let plan = if nil_by_mouth {
                            TrayPlan::default()
                        } else {
                            menu.tray(query.meal, fed.diet_id, restricted)
                        };
                        pb::Tray {
                            patient_id: fed.patient_id.to_string(),
                            bed_code: (fed.bed_id)
                                .and_then(|bed| beds.get(&bed).cloned())
                                .unwrap_or_default(),
                            diet_code: diet.map(|d| d.code.clone()).unwrap_or_default(),
                            restrictions: restricted.iter().cloned().collect(),
                            dishes: plan
                                .served
                                .iter()
                                .map(|dish| {
                                    let recipe = menu.recipes.get(&dish.recipe_id);
                                    pb::Dish {
                                        course: course_to_pb(dish.course).into(),
                                        recipe_id: dish.recipe_id.to_string(),
                                        recipe_code: recipe
                                            .map(|r| r.code.clone())
                                            .unwrap_or_default(),
                                        recipe_name: recipe
                                            .map(|r| r.name.clone())
                                            .unwrap_or_default(),
                                        replaces_recipe_id: dish
                                            .replaces
                                            .map(|id| id.to_string())
                                            .unwrap_or_default(),
                                    }
                                })
                                .collect(),
                            unserved_courses: (plan.unserved.iter())
                                .map(|course| course_to_pb(*course).into())
                                .collect(),
                            nil_by_mouth,
                        }
                    })
                    .collect();
                trays.sort_by(|a, b| {
                    (&a.bed_code, &a.patient_id).cmp(&(&b.bed_code, &b.patient_id))
                });
                record(tx, context, &patients, now).await?;
                Ok(pb::GetDistributionListResponse { trays })
            })
            .await
    }

    /// Sends a facility's meal to the kitchen (once: a second call finds it sent): every
    /// ward with patients or adjustments gets its order with a line per patient in the ward
    /// now and their diet at the meal; how many ward orders were sent.
    pub(crate) async fn send_round(
        &self,
        tx: &mut TenantTx,
        kitchen: &KitchenRow,
        (day, time): (NaiveDate, &MealTimeRow),
        now: DateTime<Utc>,
    ) -> Result<usize> {
        store::take_kitchen(tx, kitchen.facility_id).await?;
        if !store::start_round(tx, (kitchen.facility_id, day, time.meal), now).await? {
            return Ok(0);
        }
        // Who is in the wards once the kitchen is taken: every change committed before is
        // seen, every later one amends the orders sent.
        let now = now.max(self.calls.now());
        let (cutoff_at, serve_at) = instants(&kitchen.zone()?, day, time);
        let mut wards = patient_lines(tx, kitchen, None, (now, serve_at)).await?;
        for order in store::meal_orders_of_day(tx, kitchen.facility_id, day).await? {
            if order.meal == time.meal {
                wards.entry(order.department_id).or_default();
            }
        }
        let mut orders = Vec::with_capacity(wards.len());
        let mut lines = Vec::new();
        for (department_id, ward_lines) in wards {
            let key = MealKey {
                facility_id: kitchen.facility_id,
                department_id,
                day,
                meal: time.meal,
                cutoff_at,
                serve_at,
            };
            let order = store::open_meal_order(tx, &key).await?;
            lines.extend(ward_lines.into_iter().map(|line| LineRow {
                meal_order_id: order.id,
                ..line
            }));
            orders.push(order);
        }
        store::insert_lines(tx, &lines, None, now).await?;
        let ids: Vec<Uuid> = orders.iter().map(|order| order.id).collect();
        store::mark_sent(tx, &ids, now).await?;
        let mut stored = store::lines_of(tx, &ids).await?;
        let codes = store::diet_codes(tx).await?;
        for order in &orders {
            let mine: Vec<LineRow> = stored
                .extract_if(.., |line| line.meal_order_id == order.id)
                .collect();
            let head = OrderHead {
                sent: true,
                sent_at: Some(now),
                ..OrderHead::of(order)
            };
            let event = pb::MealOrderSent {
                order: Some(meal_order(&head, &mine, &codes)),
            };
            (self.outbox)
                .publish(tx, MEAL_ORDER_SENT, &order.id.to_string(), &event, now)
                .await?;
        }
        Ok(orders.len())
    }

    /// Gives `ward` a sent order of every meal of its facility sent already and not yet
    /// served, so a patient arriving in a ward that had nobody at the cut-off is amended in.
    pub(crate) async fn open_late_orders(
        &self,
        tx: &mut TenantTx,
        facility_id: Uuid,
        ward: Uuid,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(kitchen) = store::get_kitchen(tx, facility_id).await? else {
            return Ok(());
        };
        let zone = kitchen.zone()?;
        let today = now.with_timezone(&zone).date_naive();
        let days = [today.pred_opt().unwrap_or(today), today];
        for time in store::meal_times(tx, facility_id).await? {
            for day in days {
                let (cutoff_at, serve_at) = instants(&zone, day, &time);
                if serve_at <= now || cutoff_at > now {
                    continue;
                }
                if !store::round_sent(tx, (facility_id, day, time.meal)).await? {
                    continue;
                }
                let key = MealKey {
                    facility_id,
                    department_id: ward,
                    day,
                    meal: time.meal,
                    cutoff_at,
                    serve_at,
                };
                let order = store::open_meal_order(tx, &key).await?;
                store::mark_sent(tx, &[order.id], now).await?;
            }
        }
        Ok(())
    }
}
