//! Background work of the booking office: holds not confirmed in time are let go, their
//! places given back, without anyone asking (a booking of the same slot also lets them go
//! first, so a place is never kept by an expired hold).

use chrono::{DateTime, Utc};
use hmis_platform::TenantId;
use hmis_platform::context::RequestId;

use crate::app::Scheduling;
use crate::error::Result;
use crate::store;

impl Scheduling {
    /// Lets every hold expired at `now` go; how many slots had some.
    pub(crate) async fn expire_holds(&self, now: DateTime<Utc>) -> Result<usize> {
        let due = store::slots_with_expired_holds(self.calls.database().worker_pool(), now).await?;
        for (tenant_id, slot_id) in &due {
            let mut tx = self
                .calls
                .database()
                .begin(TenantId::new(*tenant_id), &RequestId::generate())
                .await?;
            self.let_holds_go(&mut tx, *slot_id, now).await?;
            tx.commit().await?;
        }
        Ok(due.len())
    }
}
