//! Doses given on the wards draw on the ward's stock through the ledger: each `DoseGiven` of the
//! encounters module becomes an issue to the patient out of the stock of the ward the patient
//! was in, its document the administration (so a redelivered event finds it booked). A dose
//! that cannot be booked (the ward keeps no stock, the catalogue has no item of the medicine's
//! code in its form unit, not enough is left, the stock is being counted) is kept in
//! `inventory.unbooked_doses` for the ward to reconcile, never holding up the doses after it.

use chrono::{DateTime, Utc};
use hmis_platform::RequestContext;
use hmis_platform::amount::Amount;
use uuid::Uuid;

use super::{Outgoing, Stores, move_all_out};
use crate::domain::MovementKind;
use crate::error::{Error, Result};
use crate::store;

/// The document type of a dose drawn on a ward stock (its id is the administration's).
const ADMINISTRATION: &str = "administration";

/// A dose given, as the encounters module announced it.
#[derive(Debug, Clone)]
pub(crate) struct DoseGiven {
    pub(crate) administration_id: Uuid,
    pub(crate) patient_id: Uuid,
    pub(crate) department_id: Uuid,
    pub(crate) medicine_code: String,
    /// In `form_unit`; empty when encounters could not tell.
    pub(crate) quantity: String,
    pub(crate) form_unit: String,
}

impl Stores {
    /// Books `dose` on its ward's stock, or keeps it as unbooked with the reason.
    pub(crate) async fn draw_dose(&self, context: &RequestContext, dose: &DoseGiven) -> Result<()> {
        let now = self.calls.now();
        let tenant_id = context.tenant_id()?;
        let database = self.calls.database();
        let mut tx = database.begin(tenant_id, &context.request_id).await?;
        let document = dose.administration_id.to_string();
        if store::movements_exist(&mut tx, ADMINISTRATION, &document).await? {
            return Ok(tx.rollback().await?);
        }
        let booked = match self.book(&mut tx, context, dose, &document, now).await {
            Ok(()) => Ok(()),
            Err(Unbooked::Because(reason)) => Err(reason),
            Err(Unbooked::Failed(Error::InsufficientStock { .. })) => {
                Err("not enough in the ward's stock".to_owned())
            }
            Err(Unbooked::Failed(Error::Precondition(reason))) => Err(reason),
            Err(Unbooked::Failed(error)) => return Err(error),
        };
        match booked {
            Ok(()) => Ok(tx.commit().await?),
            Err(reason) => {
                // What was half-written goes; the dose is kept for the ward instead.
                drop(tx);
                let mut tx = database.begin(tenant_id, &context.request_id).await?;
                store::keep_unbooked_dose(
                    &mut tx,
                    dose.administration_id,
                    (dose.department_id, &dose.medicine_code, &dose.quantity),
                    &reason,
                    now,
                )
                .await?;
                tracing::warn!(
                    administration_id = %dose.administration_id,
                    department_id = %dose.department_id,
                    reason = %reason,
                    "a dose given could not be drawn on the ward's stock"
                );
                Ok(tx.commit().await?)
            }
        }
    }

    async fn book(
        &self,
        tx: &mut hmis_platform::TenantTx,
        context: &RequestContext,
        dose: &DoseGiven,
        document: &str,
        now: DateTime<Utc>,
    ) -> std::result::Result<(), Unbooked> {
        let Some(ward_stock) = store::ward_stock_of(tx, dose.department_id).await? else {
            return Err(Unbooked::Because("the ward keeps no stock".to_owned()));
        };
        let Ok(quantity) = Amount::parse(&dose.quantity) else {
            return Err(Unbooked::Because(
                "the dose cannot be told in the medicine's form unit".to_owned(),
            ));
        };
        let item = match store::item_by_code(tx, &dose.medicine_code).await? {
            Some(item) if item.base_unit == dose.form_unit => item,
            _ => {
                return Err(Unbooked::Because(format!(
                    "no catalogue item {} counted in {}",
                    dose.medicine_code, dose.form_unit
                )));
            }
        };
        let outgoing = Outgoing {
            kind: MovementKind::IssuePatient,
            from: ward_stock,
            to: None,
            document_type: ADMINISTRATION,
            document_id: document,
            patient_id: Some(dose.patient_id),
            department_id: Some(dose.department_id),
        };
        move_all_out(tx, context, vec![(item.id, quantity, None)], &outgoing, now).await?;
        Ok(())
    }
}

/// Why a dose was not booked: a reason for the ward, or a failure to retry.
enum Unbooked {
    Because(String),
    Failed(Error),
}

impl From<Error> for Unbooked {
    fn from(error: Error) -> Self {
        Self::Failed(error)
    }
}
