//! Background work of admissions: observation stays past their limit become inpatient
//! admissions. The job finds candidates across tenants with the worker role, then converts
//! each in its own tenant's transaction, re-checking under the row lock (another process may
//! have converted or discharged it meanwhile).

use chrono::{DateTime, Utc};
use hmis_platform::context::RequestId;
use hmis_platform::{RequestContext, TenantId};
use hmis_proto::openhmis::admissions::v1 as pb;

use crate::app::Adt;
use crate::domain::{AdmissionStatus, AdmissionType, observation_due};
use crate::error::Result;
use crate::events;
use crate::store::{self, AdmissionChange, Lock};

impl Adt {
    /// Converts every observation stay due at `now`; returns how many it converted.
    pub(crate) async fn convert_due_observations(&self, now: DateTime<Utc>) -> Result<usize> {
        let limit = chrono::Duration::from_std(self.options.observation_limit)
            .unwrap_or(chrono::Duration::MAX);
        let due = store::due_observations(self.calls.database().worker_pool(), now - limit).await?;
        let mut converted = 0;
        for (tenant_id, id) in due {
            let tenant_id = TenantId::new(tenant_id);
            let mut tx = self
                .calls
                .database()
                .begin(tenant_id, &RequestId::generate())
                .await?;
            let row = store::get_admission(&mut tx, id, Lock::ForUpdate).await?;
            let still_due = row.status == AdmissionStatus::Admitted
                && row.r#type == AdmissionType::Observation
                && observation_due(row.admit_time, now, limit);
            if !still_due {
                tx.rollback().await?;
                continue;
            }
            let row = store::update_admission(
                &mut tx,
                id,
                &AdmissionChange {
                    kind: Some(AdmissionType::Emergency),
                    converted_at: Some(now),
                    ..Default::default()
                },
                now,
            )
            .await?;
            let admission = Adt::to_pb(&mut tx, &row).await?;
            events::publish(
                self,
                &mut tx,
                events::ADMISSION_CONVERTED,
                &row,
                &pb::AdmissionConverted {
                    admission: Some(admission),
                },
                now,
            )
            .await?;
            let system = RequestContext::system(tenant_id);
            let patients = [row.patient_id];
            hmis_platform::audit::record(
                &mut tx,
                &system,
                &hmis_platform::audit::AuditEntry::ok(&patients),
                now,
            )
            .await?;
            tx.commit().await?;
            tracing::info!(admission_id = %id, tenant_id = %tenant_id, "observation stay converted to an inpatient admission");
            converted += 1;
        }
        Ok(converted)
    }
}
