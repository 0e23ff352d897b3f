//! A patient's food restrictions and diet orders, and the amendments a change of the patient
//! (a diet ordered, an admission, a transfer, a discharge, an operation's fast) makes to the
//! meal orders already sent and not yet served.

use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::events::nutrition::MEAL_ORDER_AMENDED;
use hmis_proto::openhmis::nutrition::v1 as pb;

use super::catalogue::diet_named;
use super::*;
use crate::convert::{OrderHead, diet_order_to_pb, line_to_pb, meal_order, restriction_to_pb};
use crate::domain::{OrderSource, RestrictionKind, amendment};
use crate::store::{DietOrderRow, RestrictionRow};

#[derive(Debug)]
pub(crate) struct NewRestriction {
    pub(crate) key: RequestKey,
    pub(crate) patient_id: Uuid,
    pub(crate) kind: RestrictionKind,
    pub(crate) allergen: String,
    pub(crate) note: String,
}

#[derive(Debug)]
pub(crate) struct NewDietOrder {
    pub(crate) key: RequestKey,
    pub(crate) patient_id: Uuid,
    pub(crate) diet_id: Uuid,
    pub(crate) start_at: Option<DateTime<Utc>>,
    pub(crate) end_at: Option<DateTime<Utc>>,
    pub(crate) note: String,
}

/// How far back a diet order may start.
const MAX_BACKDATE: chrono::Duration = chrono::Duration::days(7);

impl Nutrition {
    /// That the caller may act for the patient with `permission`: in the ward the patient is
    /// in now, or (a patient in no ward) anywhere they hold it.
    async fn authorize_patient(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        permission: &str,
    ) -> Result<()> {
        let now = self.calls.now();
        let place = self
            .calls
            .transaction(context, async |tx| {
                store::whereabouts(tx, patient_id, now).await
            })
            .await?;
        match place {
            Some((facility_id, row)) => {
                context.authorize(
                    permission,
                    &Target::department(facility_id, row.department_id),
                )?;
            }
            None => {
                context.authorize_any(permission)?;
            }
        }
        Ok(())
    }

    pub(crate) async fn record_restriction(
        &self,
        context: &RequestContext,
        message: &pb::RecordRestrictionRequest,
        new: NewRestriction,
    ) -> Result<pb::RecordRestrictionResponse> {
        let method = method("RecordRestriction");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        self.authorize_patient(context, new.patient_id, ORDER)
            .await?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let row = RestrictionRow {
                    id: Uuid::now_v7(),
                    patient_id: new.patient_id,
                    kind: new.kind,
                    allergen: new.allergen.clone(),
                    note: new.note.clone(),
                    recorded_by: context.user_id(),
                    recorded_at: now,
                };
                store::insert_restriction(tx, &row).await?;
                record(tx, context, &[new.patient_id], now).await?;
                Ok(pb::RecordRestrictionResponse {
                    restriction: Some(restriction_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn end_restriction(
        &self,
        context: &RequestContext,
        message: &pb::EndRestrictionRequest,
        (key, id, reason): (RequestKey, Uuid, String),
    ) -> Result<pb::EndRestrictionResponse> {
        let method = method("EndRestriction");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        let now = self.calls.now();
        self.calls
            .write(context, &method, &key, message, async |tx| {
                let ended =
                    match store::end_restriction(tx, id, (context.user_id(), &reason), now).await {
                        Err(Error::NotFound(_)) => {
                            return Err(Error::invalid("id", "is not a restriction in force"));
                        }
                        ended => ended?,
                    };
                if let Some((facility_id, row)) =
                    store::whereabouts(tx, ended.patient_id, now).await?
                {
                    context
                        .authorize(ORDER, &Target::department(facility_id, row.department_id))?;
                }
                record(tx, context, &[ended.patient_id], now).await?;
                Ok(pb::EndRestrictionResponse {})
            })
            .await
    }

    pub(crate) async fn list_restrictions(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListRestrictionsResponse> {
        self.authorize_patient(context, patient_id, READ).await?;
        let now = self.calls.now();
        self.calls
            .transaction(context, async |tx| {
                let rows = store::restrictions_of_patient(tx, patient_id).await?;
                record(tx, context, &[patient_id], now).await?;
                Ok(pb::ListRestrictionsResponse {
                    restrictions: rows.iter().map(restriction_to_pb).collect(),
                })
            })
            .await
    }

    pub(crate) async fn order_diet(
        &self,
        context: &RequestContext,
        message: &pb::OrderDietRequest,
        new: NewDietOrder,
    ) -> Result<pb::OrderDietResponse> {
        let method = method("OrderDiet");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        self.authorize_patient(context, new.patient_id, ORDER)
            .await?;
        let now = self.calls.now();
        let start_at = new.start_at.unwrap_or(now);
        if start_at < now - MAX_BACKDATE {
            return Err(Error::invalid(
                "order.start_time",
                "may be at most 7 days back",
            ));
        }
        if new.end_at.is_some_and(|end| end <= start_at) {
            return Err(Error::invalid("order.end_time", "must be after the start"));
        }
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                diet_named(tx, new.diet_id, "order.diet_id").await?;
                store::end_current_diet(tx, new.patient_id, start_at).await?;
                let row = DietOrderRow {
                    id: Uuid::now_v7(),
                    patient_id: new.patient_id,
                    diet_id: new.diet_id,
                    start_at,
                    end_at: new.end_at,
                    source: OrderSource::Ordered,
                    operation_id: None,
                    note: new.note.clone(),
                    ordered_by: Some(context.user_id()),
                };
                store::insert_diet_order(tx, &row, now).await?;
                self.amend_for_patient(tx, new.patient_id, now, "diet changed")
                    .await?;
                record(tx, context, &[new.patient_id], now).await?;
                Ok(pb::OrderDietResponse {
                    order: Some(diet_order_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_diet_orders(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
    ) -> Result<pb::ListDietOrdersResponse> {
        self.authorize_patient(context, patient_id, READ).await?;
        let now = self.calls.now();
        self.calls
            .transaction(context, async |tx| {
                let rows = store::diet_orders_of(tx, patient_id).await?;
                record(tx, context, &[patient_id], now).await?;
                Ok(pb::ListDietOrdersResponse {
                    orders: rows.iter().map(diet_order_to_pb).collect(),
                })
            })
            .await
    }

    /// Adds to every sent, not yet served meal order the patient is on, or of the ward the
    /// patient is in now, the lines that make it say what is now expected of the patient
    /// (`reason` says why), and publishes each amendment; how many orders were amended.
    pub(crate) async fn amend_for_patient(
        &self,
        tx: &mut TenantTx,
        patient_id: Uuid,
        now: DateTime<Utc>,
        reason: &str,
    ) -> Result<usize> {
        store::share_kitchens(tx).await?;
        let place = store::whereabouts(tx, patient_id, now).await?;
        if let Some((facility_id, row)) = &place {
            self.open_late_orders(tx, *facility_id, row.department_id, now)
                .await?;
        }
        let wards: Vec<Uuid> = place.iter().map(|(_, row)| row.department_id).collect();
        let orders = store::orders_to_amend(tx, patient_id, &wards, now).await?;
        if orders.is_empty() {
            return Ok(0);
        }
        let ids: Vec<Uuid> = orders.iter().map(|order| order.id).collect();
        let lines = store::lines_of(tx, &ids).await?;
        let codes = store::diet_codes(tx).await?;
        let mut kitchens: HashMap<Uuid, KitchenRow> = HashMap::new();
        let mut amended = 0;
        for order in &orders {
            let mut current: BTreeMap<Uuid, i32> = BTreeMap::new();
            let mut last_admission = None;
            for line in lines.iter().filter(|line| {
                line.meal_order_id == order.id
                    && line.kind == LineKind::Patient
                    && line.patient_id == Some(patient_id)
            }) {
                *current.entry(line.diet_id).or_default() += line.portions;
                last_admission = line.admission_id;
            }
            let here = place
                .as_ref()
                .filter(|(_, row)| row.department_id == order.department_id);
            let expected = match here {
                Some(_) => {
                    let kitchen = match kitchens.entry(order.facility_id) {
                        std::collections::hash_map::Entry::Occupied(known) => known.into_mut(),
                        std::collections::hash_map::Entry::Vacant(unknown) => {
                            unknown.insert(kitchen_of(tx, order.facility_id, "facility_id").await?)
                        }
                    };
                    let diets = Diets::at(tx, kitchen, &[patient_id], order.serve_at).await?;
                    Some(diets.of(patient_id, order.department_id))
                }
                None => None,
            };
            let added: Vec<LineRow> = amendment(&current, expected)
                .into_iter()
                .map(|(diet_id, portions)| LineRow {
                    meal_order_id: order.id,
                    kind: LineKind::Patient,
                    patient_id: Some(patient_id),
                    admission_id: here.map(|(_, row)| row.admission_id).or(last_admission),
                    bed_id: here.and_then(|(_, row)| row.bed_id),
                    diet_id,
                    portions,
                    amendment: true,
                    reason: reason.to_owned(),
                })
                .collect();
            if added.is_empty() {
                continue;
            }
            store::insert_lines(tx, &added, None, now).await?;
            let all = store::lines_of(tx, &[order.id]).await?;
            let event = pb::MealOrderAmended {
                order: Some(meal_order(&OrderHead::of(order), &all, &codes)),
                added: added.iter().map(|line| line_to_pb(line, &codes)).collect(),
            };
            (self.outbox)
                .publish(tx, MEAL_ORDER_AMENDED, &order.id.to_string(), &event, now)
                .await?;
            amended += 1;
        }
        Ok(amended)
    }

    /// Puts the patient of an operation nil by mouth from `fast` before it until its planned
    /// end (or moves the period), and amends the meal orders sent.
    pub(crate) async fn fast_for_operation(
        &self,
        tx: &mut TenantTx,
        (operation_id, patient_id): (Uuid, Uuid),
        (start_at, end_at): (DateTime<Utc>, DateTime<Utc>),
        now: DateTime<Utc>,
    ) -> Result<()> {
        let Some(nil_by_mouth) = store::nil_by_mouth_diet(tx).await? else {
            tracing::warn!(
                "no nil-by-mouth diet in the catalogue; an operation's fast is not kept"
            );
            return Ok(());
        };
        store::put_operation_fast(
            tx,
            (operation_id, patient_id),
            nil_by_mouth,
            (start_at, end_at),
            now,
        )
        .await?;
        self.amend_for_patient(tx, patient_id, now, "nil by mouth for an operation")
            .await?;
        Ok(())
    }

    /// Ends an operation's fast at `at` (the operation cancelled or done), amending orders.
    pub(crate) async fn end_fast(
        &self,
        tx: &mut TenantTx,
        (operation_id, patient_id): (Uuid, Uuid),
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        store::end_operation_fast(tx, operation_id, at).await?;
        self.amend_for_patient(tx, patient_id, now, "fast ended")
            .await?;
        Ok(())
    }
}
