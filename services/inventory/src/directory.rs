//! What inventory reads from other modules, through their contracts and on behalf of the
//! caller: a facility's time zone from the bed register (core), where reports cut their days
//! and months; a prescription from encounters, which a dispense to a patient is checked
//! against.

use encounters_pb::encounter_service_client::EncounterServiceClient;
use hmis_core_api::CoreClient;
use hmis_platform::RequestContext;
use hmis_platform::amount::Amount;
use hmis_platform::channel::{ServiceChannel, forwarded};
use hmis_proto::openhmis::encounters::v1 as encounters_pb;
use tonic::Code;
use uuid::Uuid;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Directory {
    core: CoreClient,
    encounters: EncounterServiceClient<ServiceChannel>,
}

/// What a dispense checks of the prescription it fills.
#[derive(Debug, Clone)]
pub struct Prescribed {
    pub patient_id: Uuid,
    pub active: bool,
    pub medicine_code: String,
    pub atc_code: String,
    pub medicine_name: String,
    /// What may be dispensed against it in all, in `form_unit`; `None` when encounters cannot
    /// say (nothing is then dispensed against it).
    pub dispensable: Option<Amount>,
    pub form_unit: String,
}

impl Directory {
    pub fn new(core: ServiceChannel, encounters: ServiceChannel) -> Self {
        Self {
            core: CoreClient::new(core),
            encounters: EncounterServiceClient::new(encounters),
        }
    }

    /// The ward's medication order over `days` from `start_date` (empty: tomorrow), as
    /// encounters computes it from the ward's active prescriptions (read under the caller).
    pub async fn ward_medication_order(
        &self,
        context: &RequestContext,
        department_id: Uuid,
        (start_date, days): (&str, i32),
    ) -> Result<encounters_pb::WardMedicationOrder> {
        self.encounters
            .clone()
            .get_ward_medication_order(forwarded(
                context,
                encounters_pb::GetWardMedicationOrderRequest {
                    department_id: department_id.to_string(),
                    start_date: start_date.to_owned(),
                    days,
                },
            ))
            .await
            .map_err(Error::from)?
            .into_inner()
            .order
            .ok_or(Error::corrupt("ward medication order"))
    }

    /// The prescription `id` names, for a dispense against it.
    pub async fn prescription(&self, context: &RequestContext, id: Uuid) -> Result<Prescribed> {
        let prescription = self
            .encounters
            .clone()
            .get_prescription(forwarded(
                context,
                encounters_pb::GetPrescriptionRequest { id: id.to_string() },
            ))
            .await
            .map_err(|status| {
                if status.code() == Code::NotFound {
                    Error::invalid("document_id", format!("no prescription {id}"))
                } else {
                    Error::from(status)
                }
            })?
            .into_inner()
            .prescription
            .ok_or(Error::corrupt("prescription"))?;
        Ok(Prescribed {
            patient_id: Uuid::parse_str(&prescription.patient_id)
                .map_err(|_| Error::corrupt("prescription patient"))?,
            active: prescription.status == encounters_pb::PrescriptionStatus::Active as i32,
            medicine_code: prescription.medicine_code,
            atc_code: prescription.atc_code,
            medicine_name: prescription.medicine_name,
            dispensable: Amount::from_db(&prescription.dispensable_quantity).ok(),
            form_unit: prescription.form_unit,
        })
    }

    pub async fn time_zone(
        &self,
        context: &RequestContext,
        facility_id: Uuid,
    ) -> Result<chrono_tz::Tz> {
        self.core
            .facility(context, facility_id)
            .await?
            .zone()
            .ok_or(Error::corrupt("facility time zone"))
    }
}
