//! Background work of nutrition: at each meal's cut-off the wards' meal orders are sent to
//! the kitchen without anyone asking (a nurse's late adjustment sends them first too, so an
//! amendment always follows a sent order). A second server racing for the same meal finds it
//! sent (`meal_rounds`' key) and sends nothing.

use chrono::{DateTime, Utc};
use hmis_platform::TenantId;
use hmis_platform::context::RequestId;

use crate::app::Nutrition;
use crate::error::Result;
use crate::store;

impl Nutrition {
    /// Sends one facility's meal of `day` at `now`, in a transaction of its own.
    pub(crate) async fn send_meal(
        &self,
        tenant_id: TenantId,
        facility_id: uuid::Uuid,
        (day, meal): (chrono::NaiveDate, crate::domain::Meal),
        now: DateTime<Utc>,
    ) -> Result<usize> {
        let mut tx = self
            .calls
            .database()
            .begin(tenant_id, &RequestId::generate())
            .await?;
        let Some(kitchen) = store::get_kitchen(&mut tx, facility_id).await? else {
            return Err(crate::Error::NotFound("kitchen"));
        };
        let times = store::meal_times(&mut tx, facility_id).await?;
        let Some(time) = times.iter().find(|time| time.meal == meal) else {
            return Err(crate::Error::NotFound("meal time"));
        };
        let wards = self.send_round(&mut tx, &kitchen, (day, time), now).await?;
        tx.commit().await?;
        Ok(wards)
    }

    /// Sends every facility's meal whose cut-off passed by `now`; how many were sent.
    pub(crate) async fn send_due_meal_orders(&self, now: DateTime<Utc>) -> Result<usize> {
        let due = store::due_rounds(self.calls.database().worker_pool(), now).await?;
        let mut sent = 0;
        for round in &due {
            let mut tx = self
                .calls
                .database()
                .begin(TenantId::new(round.tenant_id), &RequestId::generate())
                .await?;
            let Some(kitchen) = store::get_kitchen(&mut tx, round.facility_id).await? else {
                continue;
            };
            let times = store::meal_times(&mut tx, round.facility_id).await?;
            let Some(time) = times.iter().find(|time| time.meal == round.meal) else {
                continue;
            };
            let wards = self
                .send_round(&mut tx, &kitchen, (round.day, time), now)
                .await?;
            tx.commit().await?;
            tracing::info!(
                facility_id = %round.facility_id,
                day = %round.day,
                meal = %round.meal,
                wards,
                "meal orders sent to the kitchen"
            );
            sent += 1;
        }
        Ok(sent)
    }
}
