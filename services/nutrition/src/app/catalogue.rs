//! The diet catalogue, the wards' default diets and each facility's kitchen.

use chrono::NaiveDate;
use hmis_platform::auth::Target;
use hmis_platform::idempotency::RequestKey;
use hmis_proto::openhmis::nutrition::v1 as pb;

use super::*;
use crate::convert::{diet_to_pb, kitchen_to_pb};
use crate::domain::{DietKind, Targets};
use crate::store::DietRow;

#[derive(Debug)]
pub(crate) struct NewDiet {
    pub(crate) key: RequestKey,
    pub(crate) code: String,
    pub(crate) name: String,
    pub(crate) kind: DietKind,
    pub(crate) targets: Targets,
}

#[derive(Debug)]
pub(crate) struct NewKitchen {
    pub(crate) key: RequestKey,
    pub(crate) facility_id: Uuid,
    pub(crate) warehouse_id: Uuid,
    pub(crate) department_id: Uuid,
    pub(crate) cycle_start: NaiveDate,
    pub(crate) cycle_days: i32,
    pub(crate) default_diet_id: Uuid,
    pub(crate) meal_times: Vec<MealTimeRow>,
}

impl Nutrition {
    pub(crate) async fn create_diet(
        &self,
        context: &RequestContext,
        message: &pb::CreateDietRequest,
        new: NewDiet,
    ) -> Result<pb::CreateDietResponse> {
        let method = method("CreateDiet");
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                let targets = new.targets;
                let row = DietRow {
                    id: Uuid::now_v7(),
                    code: new.code.clone(),
                    name: new.name.clone(),
                    kind: new.kind,
                    energy_kcal_min: targets.energy_kcal_min,
                    energy_kcal_max: targets.energy_kcal_max,
                    protein_g_min: targets.protein_g_min,
                    fat_g_max: targets.fat_g_max,
                    carbohydrate_g_max: targets.carbohydrate_g_max,
                    sodium_mg_max: targets.sodium_mg_max,
                };
                store::insert_diet(tx, &row, now).await?;
                record(tx, context, &[], now).await?;
                Ok(pb::CreateDietResponse {
                    diet: Some(diet_to_pb(&row)),
                })
            })
            .await
    }

    pub(crate) async fn list_diets(
        &self,
        context: &RequestContext,
    ) -> Result<pb::ListDietsResponse> {
        self.calls
            .transaction(context, async |tx| {
                Ok(pb::ListDietsResponse {
                    diets: store::list_diets(tx)
                        .await?
                        .iter()
                        .map(diet_to_pb)
                        .collect(),
                })
            })
            .await
    }

    pub(crate) async fn set_ward_diet(
        &self,
        context: &RequestContext,
        message: &pb::SetWardDietRequest,
        (key, department_id, diet_id): (RequestKey, Uuid, Uuid),
    ) -> Result<pb::SetWardDietResponse> {
        let method = method("SetWardDiet");
        if let Some(replayed) = self.calls.replay(context, &method, &key, message).await? {
            return Ok(replayed);
        }
        let ward = (self.directory)
            .department(context, department_id, "department_id")
            .await?;
        context.authorize(MANAGE, &Target::department(ward.facility_id, department_id))?;
        let now = self.calls.now();
        self.calls
            .write(context, &method, &key, message, async |tx| {
                diet_named(tx, diet_id, "diet_id").await?;
                store::set_ward_diet(
                    tx,
                    (department_id, ward.facility_id),
                    diet_id,
                    context.user_id(),
                    now,
                )
                .await?;
                record(tx, context, &[], now).await?;
                Ok(pb::SetWardDietResponse {})
            })
            .await
    }

    pub(crate) async fn set_kitchen(
        &self,
        context: &RequestContext,
        message: &pb::SetKitchenRequest,
        new: NewKitchen,
    ) -> Result<pb::SetKitchenResponse> {
        let method = method("SetKitchen");
        if let Some(replayed) = self
            .calls
            .replay(context, &method, &new.key, message)
            .await?
        {
            return Ok(replayed);
        }
        context.authorize(MANAGE, &Target::facility(new.facility_id))?;
        let time_zone = self.directory.time_zone(context, new.facility_id).await?;
        let department = (self.directory)
            .department(context, new.department_id, "kitchen.department_id")
            .await?;
        if department.facility_id != new.facility_id {
            return Err(Error::invalid(
                "kitchen.department_id",
                "is not a department of the facility",
            ));
        }
        let now = self.calls.now();
        self.calls
            .write(context, &method, &new.key, message, async |tx| {
                diet_named(tx, new.default_diet_id, "kitchen.default_diet_id").await?;
                let row = KitchenRow {
                    facility_id: new.facility_id,
                    time_zone: time_zone.clone(),
                    warehouse_id: new.warehouse_id,
                    department_id: new.department_id,
                    cycle_start: new.cycle_start,
                    cycle_days: new.cycle_days,
                    default_diet_id: new.default_diet_id,
                };
                store::put_kitchen(tx, &row, &new.meal_times, now).await?;
                record(tx, context, &[], now).await?;
                let times = store::meal_times(tx, new.facility_id).await?;
                Ok(pb::SetKitchenResponse {
                    kitchen: Some(kitchen_to_pb(&row, &times)),
                })
            })
            .await
    }

    pub(crate) async fn get_kitchen(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<pb::GetKitchenResponse> {
        self.calls
            .transaction(context, async |tx| {
                let kitchen = store::get_kitchen(tx, facility_id)
                    .await?
                    .ok_or(Error::NotFound("kitchen"))?;
                let times = store::meal_times(tx, facility_id).await?;
                Ok(pb::GetKitchenResponse {
                    kitchen: Some(kitchen_to_pb(&kitchen, &times)),
                })
            })
            .await
    }
}

/// The diet `id` a request names in `field`; an unknown one is that field's fault.
pub(super) async fn diet_named(
    tx: &mut TenantTx,
    id: Uuid,
    field: &'static str,
) -> Result<DietRow> {
    match store::get_diet(tx, id).await {
        Err(Error::NotFound(_)) => Err(Error::invalid(field, "was not found")),
        found => found,
    }
}
