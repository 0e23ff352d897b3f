//! A death in the hospital's care, as the registry records it: the patient is marked deceased
//! with the time of death (and its date in the facility's zone), by the admission or emergency
//! visit whose outcome it was; undoing that discharge withdraws exactly that death. Each is a
//! new version of the record, published, and on the audit trail under the caller (the system,
//! following the admissions module's events).

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::audit::{self, AuditEntry};
use hmis_proto::openhmis::patients::v1 as pb;
use uuid::Uuid;

use super::Registry;
use crate::convert::{changed_fields, patient_to_pb};
use crate::error::Error;
use crate::store::{self, Lock, PatientRow};

/// A death the hospital saw: whose, when, and which admission or visit recorded it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Death {
    pub(crate) patient_id: Uuid,
    pub(crate) time: DateTime<Utc>,
    pub(crate) facility_id: Uuid,
    pub(crate) recorded_from: Uuid,
}

impl Registry {
    /// Marks the patient deceased unless the record already is (idempotent: a second delivery
    /// of the same event changes nothing).
    pub(crate) async fn record_death(
        &self,
        context: &RequestContext,
        death: Death,
    ) -> Result<(), Error> {
        let zone = self
            .core
            .facility(context, death.facility_id)
            .await?
            .zone()
            .unwrap_or(chrono_tz::UTC);
        let date = death.time.with_timezone(&zone).date_naive();
        self.change_followed(context, death.patient_id, async |tx, now| {
            store::record_death(
                tx,
                death.patient_id,
                (death.time, date),
                death.recorded_from,
                now,
            )
            .await
        })
        .await
    }

    /// Withdraws the death `recorded_from` recorded (its discharge was undone); a death entered
    /// by hand, or none, is left as it is.
    pub(crate) async fn withdraw_death(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        recorded_from: Uuid,
    ) -> Result<(), Error> {
        self.change_followed(context, patient_id, async |tx, now| {
            store::withdraw_death(tx, patient_id, recorded_from, now).await
        })
        .await
    }

    /// A change of the record another module's event asks for: `change` answers the row as it
    /// now is, or none when there is nothing to change; a change is a new version, published
    /// and audited.
    pub(super) async fn change_followed(
        &self,
        context: &RequestContext,
        patient_id: Uuid,
        change: impl AsyncFnOnce(
            &mut hmis_platform::TenantTx,
            DateTime<Utc>,
        ) -> Result<Option<PatientRow>, Error>,
    ) -> Result<(), Error> {
        let now = self.calls.now();
        let mut tx = (self.calls.database())
            .begin(context.tenant_id()?, &context.request_id)
            .await?;
        let (before, identifiers) =
            store::get_patient(&mut tx, patient_id, Lock::ForUpdate).await?;
        let Some(row) = change(&mut tx, now).await? else {
            return Ok(tx.rollback().await?);
        };
        let today = now.date_naive();
        let current: pb::Patient = patient_to_pb(&before, &identifiers, today)?;
        let updated = patient_to_pb(&row, &identifiers, today)?;
        let mut changed = changed_fields(&current, &updated);
        if current.death_time != updated.death_time {
            changed.push("death_time".to_owned());
        }
        let change = (pb::ChangeKind::Updated, changed);
        self.record_version(&mut tx, context, &updated, &row, change, now)
            .await?;
        audit::record(&mut tx, context, &AuditEntry::ok(&[patient_id]), now).await?;
        tx.commit().await?;
        Ok(())
    }
}
